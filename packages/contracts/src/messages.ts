import { z } from 'zod';
import { COMMAND_TOPIC, CommandData, type CommandType } from './commands.ts';
import { EnvelopeSchema } from './envelope.ts';
import { EVENT_TOPIC, EventData, type EventType, type OrderflowEvent } from './events.ts';

/** Everything that travels on the bus: facts (events) and, in orchestration, commands. */
export const MessageData = { ...EventData, ...CommandData } as const;
export type MessageType = EventType | CommandType;
export type MessageDataOf<T extends MessageType> = z.infer<(typeof MessageData)[T]>;

export const MESSAGE_TOPIC: Record<MessageType, string> = { ...EVENT_TOPIC, ...COMMAND_TOPIC };
export const MESSAGE_TYPES = Object.keys(MessageData) as MessageType[];

function envelopeOf<T extends MessageType>(type: T) {
  return EnvelopeSchema.extend({ type: z.literal(type), data: MessageData[type] as (typeof MessageData)[T] });
}

export const MessageSchemas = Object.fromEntries(MESSAGE_TYPES.map((t) => [t, envelopeOf(t)])) as {
  [T in MessageType]: ReturnType<typeof envelopeOf<T>>;
};

/** A fully typed message: envelope plus the data of its type. */
export type OrderflowMessage = { [T in MessageType]: z.infer<(typeof MessageSchemas)[T]> }[MessageType];
export type MessageOf<T extends MessageType> = Extract<OrderflowMessage, { type: T }>;

export const isMessageType = (type: string): type is MessageType => Object.hasOwn(MessageData, type);
export const isCommandType = (type: string): type is CommandType => Object.hasOwn(CommandData, type);

export const isEvent = (message: OrderflowMessage): message is OrderflowEvent => Object.hasOwn(EventData, message.type);
