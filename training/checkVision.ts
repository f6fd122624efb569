/**
 * Held-out check of the emu-nano vision tokenizer through onnxruntime-node and the sim's perception:
 * every frame of every held-out example → encoder → decoder → perceiveLayout, against the layout the
 * exporter recorded. Prints frames, layout agreement (mean and exact fraction) and PSNR (min, mean).
 *
 *   node --import tsx training/checkVision.ts [exportDir=training/data/export] [modelDir=models/emu-nano]
 *
 * The defaults are training/paths.ts's, resolved from the repository root (not the cwd).
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { perceiveLayout } from '../sim/perception/perceiveLayout.ts';
import { layoutAgreement } from '../sim/perception/layoutAgreement.ts';
import { psnr } from '../sim/perception/psnr.ts';
import type { Layout } from '../sim/world/Layout.ts';
import type { RgbImage } from '../sdk/image/RgbImage.ts';
import { EXPORT, MODEL } from './paths.ts';

const [exportDir = EXPORT, modelDir = MODEL] = process.argv.slice(2);
const enc = await ort.InferenceSession.create(path.join(modelDir, 'vision_encoder.onnx'));
const dec = await ort.InferenceSession.create(path.join(modelDir, 'vision_decoder.onnx'));

async function roundTrip(img: RgbImage): Promise<RgbImage> {
  const { width: w, height: h } = img;
  const chw = new Float32Array(3 * h * w);
  for (let i = 0; i < h * w; i++) for (let c = 0; c < 3; c++) chw[c * h * w + i] = img.data[i * 3 + c]! / 127.5 - 1;
  const { codes } = await enc.run({ pixel_values: new ort.Tensor('float32', chw, [1, 3, h, w]) });
  const px = (await dec.run({ codes: codes! })).pixel_values!.data as Float32Array;
  const out = new Uint8Array(3 * h * w);
  for (let i = 0; i < h * w; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.max(0, Math.min(255, Math.round((px[c * h * w + i]! + 1) * 127.5)));
  return { width: w, height: h, data: out };
}

let frames = 0, agreeSum = 0, exact = 0, psnrMin = Infinity, psnrSum = 0;
for (const dir of readdirSync(exportDir).filter((d) => d.endsWith('-heldout')).sort()) {
  for (const line of readFileSync(path.join(exportDir, dir, 'examples.jsonl'), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const ex = JSON.parse(line) as { layouts: Record<string, Layout> };
    for (const [rel, layout] of Object.entries(ex.layouts)) {
      const { data, info } = await sharp(path.join(exportDir, dir, rel)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const img: RgbImage = { width: info.width, height: info.height, data: new Uint8Array(data) };
      const back = await roundTrip(img);
      const a = layoutAgreement(perceiveLayout(back), layout);
      const p = Math.min(psnr(img, back), 99);
      frames++;
      agreeSum += a;
      exact += a === 1 ? 1 : 0;
      psnrMin = Math.min(psnrMin, p);
      psnrSum += p;
    }
  }
}
console.log(JSON.stringify({ frames, layoutAgreementMean: agreeSum / frames, layoutExactFraction: exact / frames, psnrMin, psnrMean: psnrSum / frames }));
