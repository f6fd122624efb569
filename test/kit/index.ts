export { buildTinyModel, DEFAULT_EMU35_RANKS } from './buildTinyModel.ts';
export type { TinyModel, TinyModelOptions, TinyTaskOverride } from './buildTinyModel.ts';
export { EMU35_SPECIAL_TOKENS, emu35SpecialIds } from './emu35Layout.ts';
export { flatColourPalette } from './tinyVisionGraphs.ts';
export { GraphBuilder } from '../../sdk/onnx/GraphBuilder.ts';
export type { Attr, Dim, ElemType } from '../../sdk/onnx/GraphBuilder.ts';
export { writeTinyEmu3Checkpoint, tinyEmu3Config, float32ToBf16, type TinyEmu3Checkpoint, type TinyEmu3CheckpointOptions, type TinyEmu3Config } from './emu3Checkpoint.ts';
