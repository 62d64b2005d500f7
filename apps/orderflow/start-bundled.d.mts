// Types of start-bundled.mjs (plain JavaScript: npm start runs it without tsx).
export declare function bundleStart(): Promise<string>;
export declare function bundleServices<Name extends string>(names: readonly Name[]): Promise<Record<Name, string>>;
