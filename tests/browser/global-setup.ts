import { buildWebUi, webUiNeedsBuild } from '../../apps/orderflow/src/web-ui.ts';

/** Builds the web UI once for every browser test file, only when the build is missing or stale. */
export default async function setup() {
  if (webUiNeedsBuild()) await buildWebUi();
}
