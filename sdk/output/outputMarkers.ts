import type { ModelManifest } from '../model/ModelManifest.ts';
import type { TiktokenTokenizer } from '../tokenizer/TiktokenTokenizer.ts';
import { ModelError } from '../errors.ts';

/** The special strings of the output grammar. */
export interface OutputMarkers {
  boi: string;
  eoi: string;
  bog: string;
  eog: string;
  boc: string;
  eoc: string;
  eol: string;
  /** Strings deleted before parsing (ESS, EOS). */
  drop: string[];
  /** printf-style visual token name; its `%d` field is read back as the code. */
  visualTokenFormat: string;
}

export const EMU35_MARKERS: OutputMarkers = {
  boi: '<|image start|>',
  eoi: '<|image end|>',
  bog: '<|extra_60|>',
  eog: '<|extra_61|>',
  boc: '<|extra_50|>',
  eoc: '<|extra_51|>',
  eol: '<|extra_200|>',
  drop: ['<|extra_101|>', '<|extra_204|>'],
  visualTokenFormat: '<|visual token %06d|>',
};

/** Markers of any model with the Emu3.5 grammar, looked up from its manifest's special ids. */
export function outputMarkersFor(manifest: ModelManifest, tok: TiktokenTokenizer): OutputMarkers {
  const ids = manifest.vocab.ids;
  const name = (role: keyof typeof ids) => {
    const id = ids[role];
    const s = id === undefined ? undefined : tok.idToToken(id);
    if (s === undefined) throw new ModelError('model_mismatch', `vocab.ids.${role} (${id}) has no token string`);
    return s;
  };
  return {
    boi: name('boi'),
    eoi: name('eoi'),
    bog: name('bog'),
    eog: name('eog'),
    boc: name('boc'),
    eoc: name('eoc'),
    eol: name('eol'),
    drop: [name('ess'), name('eos')],
    visualTokenFormat: manifest.tokenizer.visualTokenFormat,
  };
}
