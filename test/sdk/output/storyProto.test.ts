import assert from 'node:assert/strict';
import { codesOf, decodeStory, encodeStory, IMAGE_FORMAT, toStory } from '../../../sdk/output/storyProto.ts';
import { decodeImage } from '../../../sdk/image/codec.ts';
import type { OutputItem } from '../../../sdk/generation/GenerationEvent.ts';
import { createRgbImage } from '../../../sdk/image/RgbImage.ts';

/** Minimal protobuf wire reader: the (field number, wire type) pairs at the top level of a message. */
function topTags(bytes: Uint8Array): Array<[number, number, Uint8Array | number]> {
  const out: Array<[number, number, Uint8Array | number]> = [];
  let i = 0;
  const varint = () => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[i++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
    }
  };
  while (i < bytes.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) out.push([field, wire, varint()]);
    else if (wire === 2) {
      const n = varint();
      out.push([field, wire, bytes.subarray(i, i + n)]);
      i += n;
    } else if (wire === 1) {
      out.push([field, wire, bytes.subarray(i, i + 8)]);
      i += 8;
    } else throw new Error(`wire type ${wire}`);
  }
  return out;
}
const text = (b: Uint8Array | number) => Buffer.from(b as Uint8Array).toString('utf8');

const RED = createRgbImage(4, 2, [255, 0, 0]);
const BLUE = createRgbImage(4, 2, [0, 0, 255]);
const ITEMS: OutputItem[] = [
  { type: 'global_cot', text: 'overall plan' },
  { type: 'text', text: 'Step 1' },
  { type: 'image_cot', text: 'why image 1' },
  { type: 'image', grid: { rows: 1, cols: 2 }, codes: [7, 131071], image: RED },
  { type: 'text', text: 'Step 2' },
  { type: 'image', grid: { rows: 1, cols: 2 }, codes: [1, 2], image: BLUE },
  { type: 'image_cot', text: 'dangling' },
];

describe('storyProto', () => {
  it('follows ProtoWriter: clips per text, CoT placeholder filled, trailing placeholder dropped', async () => {
    const story = await toStory('Q?', [BLUE], ITEMS);
    assert.equal(story.question, 'Q?');
    assert.equal(story.summary, 'overall plan');
    assert.equal(story.referenceImages.length, 1);
    assert.deepEqual(story.clips.map((c) => c.clipId), ['clip_0000', 'clip_0001']);
    assert.equal(story.clips[0]!.segments[0]!.asr, 'Step 1');
    const first = story.clips[0]!.segments[0]!.images;
    assert.equal(first.length, 1);
    assert.equal(first[0]!.chainOfThought, 'why image 1');
    assert.equal(first[0]!.image?.format, IMAGE_FORMAT.PNG);
    assert.deepEqual(story.clips[1]!.segments[0]!.images.length, 1, 'dangling CoT placeholder is dropped');
  });

  it('creates an empty clip for an image before any text', async () => {
    const story = await toStory('q', [], [{ type: 'image', grid: { rows: 1, cols: 1 }, codes: [3], image: RED }]);
    assert.equal(story.clips.length, 1);
    assert.equal(story.clips[0]!.segments[0]!.asr, undefined);
    assert.equal(story.clips[0]!.segments[0]!.images.length, 1);
  });

  it('round-trips through bytes, images and codes included', async () => {
    const story = await toStory('Q?', [BLUE], ITEMS);
    const back = decodeStory(await encodeStory(story));
    assert.equal(back.question, 'Q?');
    assert.equal(back.summary, 'overall plan');
    assert.equal(back.clips.length, 2);
    const meta = back.clips[0]!.segments[0]!.images[0]!;
    assert.equal(meta.chainOfThought, 'why image 1');
    assert.deepEqual(await decodeImage(meta.image!.imageData!), RED);
    assert.deepEqual(codesOf(meta), { grid: { rows: 1, cols: 2 }, codes: [7, 131071] });
    assert.deepEqual(await decodeImage(back.referenceImages[0]!.image!.imageData!), BLUE);
  });

  it('uses the official field numbers on the wire', async () => {
    const bytes = await encodeStory(await toStory('Q?', [BLUE], ITEMS));
    const story = topTags(bytes);
    const byField = (tags: typeof story, f: number) => tags.filter((t) => t[0] === f);
    assert.equal(text(byField(story, 12)[0]![2]), 'Q?', 'question = 12');
    assert.equal(text(byField(story, 11)[0]![2]), 'overall plan', 'summary = 11');
    assert.equal(byField(story, 2).length, 2, 'clips = 2');
    assert.equal(byField(story, 17).length, 1, 'reference_images = 17');
    const clip = topTags(byField(story, 2)[0]![2] as Uint8Array);
    assert.equal(text(byField(clip, 1)[0]![2]), 'clip_0000', 'clip_id = 1');
    const segment = topTags(byField(clip, 101)[0]![2] as Uint8Array);
    assert.equal(text(byField(segment, 2)[0]![2]), 'Step 1', 'asr = 2');
    const meta = topTags(byField(segment, 101)[0]![2] as Uint8Array);
    assert.equal(text(byField(meta, 7)[0]![2]), 'why image 1', 'chain_of_thought = 7');
    const image = topTags(byField(meta, 11)[0]![2] as Uint8Array);
    assert.deepEqual(image.filter((t) => t[1] === 0).map((t) => [t[0], t[2]]), [[1, 4], [2, 2], [3, 2]], 'width=1, height=2, format=3 (PNG=2)');
    assert.equal(byField(image, 4).length, 1, 'image_data = 4');
  });
});
