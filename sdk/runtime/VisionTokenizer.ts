import * as ort from 'onnxruntime-node';
import { InputError, ModelError, throwIfAborted } from '../errors.ts';
import type { RgbImage } from '../image/RgbImage.ts';
import { smartResize } from '../image/smartResize.ts';
import { toPixelValues } from '../image/preprocess.ts';
import { fromPixelValues } from '../image/codec.ts';
import type { VisionSpec } from '../model/ModelManifest.ts';
import type { Grid } from '../generation/GenerationEvent.ts';
import { checkSessionIo } from './checkSessionIo.ts';
import { createSession, engineFailure, type SessionOptions } from './createSession.ts';

export interface EncodedImage {
  rows: number;
  cols: number;
  /** Codebook indices, row-major, rows·cols. */
  codes: number[];
}

/** The IBQ vision tokenizer: image ↔ token grid through the encoder and decoder graphs. */
export class VisionTokenizer {
  readonly #encoder: ort.InferenceSession;
  readonly #decoder: ort.InferenceSession;
  readonly #spec: VisionSpec;
  readonly #codebookSize: number;

  private constructor(encoder: ort.InferenceSession, decoder: ort.InferenceSession, spec: VisionSpec, codebookSize: number) {
    this.#encoder = encoder;
    this.#decoder = decoder;
    this.#spec = spec;
    this.#codebookSize = codebookSize;
  }

  static async open(encoderPath: string, decoderPath: string, spec: VisionSpec, codebookSize: number, options: SessionOptions = {}): Promise<VisionTokenizer> {
    const encoder = await createSession(encoderPath, options);
    const decoder = await createSession(decoderPath, options);
    try {
      checkSessionIo(encoder, `vision encoder ${encoderPath}`, {
        inputs: { [spec.io.encoderInput]: [1, 3, null, null] },
        outputs: { [spec.io.encoderOutput]: [1, null, null] },
      });
      checkSessionIo(decoder, `vision decoder ${decoderPath}`, {
        inputs: { [spec.io.decoderInput]: [1, null, null] },
        outputs: { [spec.io.decoderOutput]: [1, 3, null, null] },
      });
    } catch (err) {
      await Promise.all([encoder.release(), decoder.release()]);
      throw err;
    }
    return new VisionTokenizer(encoder, decoder, spec, codebookSize);
  }

  /** smart_resize to `area`, normalise, encode → the token grid. */
  /** `maxTokens`: the most image tokens that can fit at all (the decoder's context); checked before any pixel is resized. */
  async encode(image: RgbImage, area: number, signal?: AbortSignal, maxTokens = Infinity): Promise<EncodedImage> {
    throwIfAborted(signal);
    const size = smartResize(image.width, image.height, area);
    if (size.width < this.#spec.downsample || size.height < this.#spec.downsample) {
      throw new InputError('image_invalid', `image ${image.width}×${image.height} resizes to ${size.width}×${size.height} at area ${area}: smaller than one ${this.#spec.downsample}px token`);
    }
    const tokens = (size.width / this.#spec.downsample) * (size.height / this.#spec.downsample);
    if (tokens > maxTokens) {
      throw new InputError('context_overflow', `image area ${area} resizes the ${image.width}×${image.height} reference to ${size.width}×${size.height}: ${tokens} image tokens, over the model's context of ${maxTokens}; lower sampling.imageArea`);
    }
    const pixels = await toPixelValues(image, size, this.#spec.normalize);
    const input = new ort.Tensor('float32', pixels, [1, 3, size.height, size.width]);
    let out: ort.InferenceSession.ReturnType;
    try {
      out = await this.#encoder.run({ [this.#spec.io.encoderInput]: input });
    } catch (err) {
      throw engineFailure(`vision encoder (${size.width}×${size.height})`, err);
    }
    const t = out[this.#spec.io.encoderOutput]!;
    const rows = Number(t.dims[1]);
    const cols = Number(t.dims[2]);
    const expected = [size.height / this.#spec.downsample, size.width / this.#spec.downsample];
    if (rows !== expected[0] || cols !== expected[1]) {
      throw new ModelError('model_mismatch', `vision encoder gave a ${rows}×${cols} grid for ${size.width}×${size.height}px, expected ${expected[0]}×${expected[1]} (downsample ${this.#spec.downsample})`);
    }
    const codes = Array.from(t.data as BigInt64Array | Int32Array, Number);
    return { rows, cols, codes };
  }

  /** Token grid → image of rows·f × cols·f pixels. */
  async decode(grid: Grid, codes: readonly number[], signal?: AbortSignal): Promise<RgbImage> {
    throwIfAborted(signal);
    if (codes.length !== grid.rows * grid.cols) {
      throw new InputError('input_invalid', `decode: ${codes.length} codes for a ${grid.rows}×${grid.cols} grid (expected ${grid.rows * grid.cols})`);
    }
    const data = new BigInt64Array(codes.length);
    for (let i = 0; i < codes.length; i++) {
      const c = codes[i]!;
      if (c < 0 || c >= this.#codebookSize) throw new InputError('input_invalid', `decode: code ${c} at ${i} outside codebook [0, ${this.#codebookSize})`);
      data[i] = BigInt(c);
    }
    let out: ort.InferenceSession.ReturnType;
    try {
      out = await this.#decoder.run({ [this.#spec.io.decoderInput]: new ort.Tensor('int64', data, [1, grid.rows, grid.cols]) });
    } catch (err) {
      throw engineFailure(`vision decoder (${grid.rows}×${grid.cols})`, err);
    }
    const t = out[this.#spec.io.decoderOutput]!;
    return fromPixelValues(t.data as Float32Array, Number(t.dims[3]), Number(t.dims[2]), this.#spec.normalize);
  }

  async close(): Promise<void> {
    await Promise.all([this.#encoder.release(), this.#decoder.release()]);
  }
}
