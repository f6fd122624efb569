import { parse } from '@foxglove/rosmsg';
import { MessageReader, MessageWriter } from '@foxglove/rosmsg2-serialization';
import { TransportError } from '../../sdk/errors.ts';
import { completeDefinition, type RosTypeName } from './rosSchemas.ts';

/**
 * CDR (de)serialisation from `ros2msg` definitions, with readers/writers cached per definition text.
 * Decoding accepts any definition text (a bag's own schema); encoding uses our canonical ones.
 */
export class CdrCodec {
  readonly #readers = new Map<string, MessageReader>();
  readonly #writers = new Map<RosTypeName, MessageWriter>();

  encode(type: RosTypeName, message: unknown): Uint8Array {
    let writer = this.#writers.get(type);
    if (!writer) {
      writer = new MessageWriter(parse(completeDefinition(type), { ros2: true }));
      this.#writers.set(type, writer);
    }
    try {
      return writer.writeMessage(message);
    } catch (err) {
      throw new TransportError(`cannot CDR-encode a ${type}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Decodes with the given definition text (default: ours for `type`). */
  decode<T = unknown>(type: string, bytes: Uint8Array, definition?: string): T {
    const text = definition ?? completeDefinition(type as RosTypeName);
    let reader = this.#readers.get(text);
    if (!reader) {
      try {
        reader = new MessageReader(parse(text, { ros2: true }));
      } catch (err) {
        throw new TransportError(`cannot parse the ros2msg schema of ${type}: ${(err as Error).message}`, { cause: err });
      }
      this.#readers.set(text, reader);
    }
    try {
      return reader.readMessage<T>(bytes);
    } catch (err) {
      throw new TransportError(`cannot CDR-decode a ${type} of ${bytes.byteLength} bytes: ${(err as Error).message}`, { cause: err });
    }
  }
}
