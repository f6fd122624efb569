import protobuf from 'protobufjs';
import type { OutputItem } from '../generation/GenerationEvent.ts';
import type { RgbImage } from '../image/RgbImage.ts';
import { encodePng } from '../image/codec.ts';

/**
 * `emu3p5.story` (proto3), the file Emu3.5's ProtoWriter saves per run, with the official field numbers.
 * Field types the reference does not pin down (timestamps) are TimeStamp messages; ProtoWriter never sets them.
 */
const STORY_PROTO = `
syntax = "proto3";
package emu3p5.story;
enum ImageFormat { UNKNOWN = 0; JPEG = 1; PNG = 2; WEBP = 3; BMP = 4; }
message TimeStamp { double start = 1; double end = 2; }
message Image { int32 width = 1; int32 height = 2; ImageFormat format = 3; bytes image_data = 4; string image_path = 5; }
message ImageMeta {
  string image_id = 1; TimeStamp timestamp = 2; string caption = 3; string detail_caption = 4;
  map<string, bytes> features = 5; map<string, double> scores = 6; string chain_of_thought = 7;
  string cot_translate = 8; Image image = 11; sint32 is_keyframe_status = 12;
}
message Segment { TimeStamp timestamp = 1; string asr = 2; string caption = 3; string asr_translate = 4; repeated ImageMeta images = 101; }
message Clip { string clip_id = 1; TimeStamp timestamp = 2; string story = 11; string caption = 21; repeated Segment segments = 101; }
message Story {
  string story_id = 1; repeated Clip clips = 2; bool deprecated = 3; string deprecate_reason = 4;
  string summary = 11; string question = 12; string refined_summary = 13; string question_translate = 14;
  string summary_translate = 15; string refined_summary_translate = 16; repeated ImageMeta reference_images = 17;
}
`;

export const IMAGE_FORMAT = { UNKNOWN: 0, JPEG: 1, PNG: 2, WEBP: 3, BMP: 4 } as const;

export interface StoryTimeStamp { start?: number; end?: number }
export interface StoryImage { width?: number; height?: number; format?: number; imageData?: Uint8Array; imagePath?: string }
export interface StoryImageMeta {
  imageId?: string;
  timestamp?: StoryTimeStamp;
  caption?: string;
  detailCaption?: string;
  features?: Record<string, Uint8Array>;
  scores?: Record<string, number>;
  chainOfThought?: string;
  cotTranslate?: string;
  image?: StoryImage;
  isKeyframeStatus?: number;
}
export interface StorySegment { timestamp?: StoryTimeStamp; asr?: string; caption?: string; asrTranslate?: string; images: StoryImageMeta[] }
export interface StoryClip { clipId?: string; timestamp?: StoryTimeStamp; story?: string; caption?: string; segments: StorySegment[] }
export interface Story {
  storyId?: string;
  clips: StoryClip[];
  deprecated?: boolean;
  deprecateReason?: string;
  summary?: string;
  question?: string;
  refinedSummary?: string;
  questionTranslate?: string;
  summaryTranslate?: string;
  refinedSummaryTranslate?: string;
  referenceImages: StoryImageMeta[];
}

const StoryType = protobuf.parse(STORY_PROTO, { keepCase: false }).root.lookupType('emu3p5.story.Story');

/** Codes of an image item travel in `features` so a story can be re-decoded without the PNG. */
export const CODES_FEATURE = 'vq_codes_int32le';
export const GRID_FEATURE = 'vq_grid';

/**
 * Builds the Story ProtoWriter would save: question, references (PNG), global CoT as summary, one clip per
 * text paragraph, image CoT as a placeholder ImageMeta that the next image fills, and no trailing placeholder.
 */
export async function toStory(question: string, references: readonly RgbImage[], items: readonly OutputItem[]): Promise<Story> {
  const story: Story = { question, clips: [], referenceImages: [] };
  for (const ref of references) story.referenceImages.push({ image: await pngImage(ref) });
  for (const item of items) {
    switch (item.type) {
      case 'global_cot':
        story.summary = item.text;
        break;
      case 'text':
        story.clips.push(newClip(story, item.text));
        break;
      case 'image_cot':
        lastImages(story).push({ chainOfThought: item.text });
        break;
      case 'image': {
        const images = lastImages(story);
        let meta = images.at(-1);
        if (!meta || !isPlaceholder(meta)) images.push((meta = {}));
        meta.features = codeFeatures(item.grid, item.codes);
        if (item.image) meta.image = await pngImage(item.image);
        break;
      }
    }
  }
  const images = story.clips.at(-1)?.segments[0]?.images;
  if (images && images.length > 0 && isPlaceholder(images.at(-1)!)) images.pop();
  return story;
}

export async function encodeStory(story: Story): Promise<Uint8Array> {
  return StoryType.encode(StoryType.fromObject(story)).finish();
}

export function decodeStory(bytes: Uint8Array): Story {
  const obj = StoryType.toObject(StoryType.decode(bytes), { arrays: true, defaults: false, longs: Number, enums: Number });
  const story = obj as Story;
  for (const clip of story.clips) for (const seg of clip.segments) seg.images ??= [];
  return story;
}

/** Codes stored by `toStory`, or undefined. */
export function codesOf(meta: StoryImageMeta): { grid: { rows: number; cols: number }; codes: number[] } | undefined {
  const raw = meta.features?.[CODES_FEATURE];
  const grid = meta.features?.[GRID_FEATURE];
  if (!raw || !grid) return undefined;
  const [rows, cols] = Buffer.from(grid).toString('ascii').split('x').map(Number);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const codes = Array.from({ length: raw.byteLength / 4 }, (_, i) => view.getInt32(4 * i, true));
  return { grid: { rows: rows!, cols: cols! }, codes };
}

function newClip(story: Story, text?: string): StoryClip {
  const clipId = `clip_${String(story.clips.length).padStart(4, '0')}`;
  return { clipId, segments: [text === undefined ? { images: [] } : { asr: text, images: [] }] };
}

function lastImages(story: Story): StoryImageMeta[] {
  if (story.clips.length === 0) story.clips.push(newClip(story));
  const clip = story.clips.at(-1)!;
  if (clip.segments.length === 0) clip.segments.push({ images: [] });
  return clip.segments[0]!.images;
}

function isPlaceholder(meta: StoryImageMeta): boolean {
  return meta.image === undefined && meta.features === undefined;
}

function codeFeatures(grid: { rows: number; cols: number }, codes: readonly number[]): Record<string, Uint8Array> {
  const raw = new Uint8Array(codes.length * 4);
  const view = new DataView(raw.buffer);
  codes.forEach((c, i) => view.setInt32(4 * i, c, true));
  return { [CODES_FEATURE]: raw, [GRID_FEATURE]: Buffer.from(`${grid.rows}x${grid.cols}`, 'ascii') };
}

async function pngImage(img: RgbImage): Promise<StoryImage> {
  return { width: img.width, height: img.height, format: IMAGE_FORMAT.PNG, imageData: encodePng(img) };
}
