import assert from 'node:assert/strict';
import { canonicalGoal, isCanonical } from '../../planners/canonicalGoal.ts';
import { readGoal } from '../../planners/readGoal.ts';
import { paraphraseDev } from '../../sim/tasks/paraphraseDev.ts';
import { paraphraseDev2 } from '../../sim/tasks/paraphraseDev2.ts';
import { CORE_SUITES, makeEpisode } from '../../sim/tasks/suites.ts';
import { Prng } from '../../sim/world/Prng.ts';

describe('readGoal: free wording read into the tabletop grammar', () => {
  const cases: [string, string][] = [
    ['Would you pop the ruby cube into the cobalt container?', 'put the red block in the blue bowl'],
    ['The basin which is olive should end up holding the mustard brick', 'put the yellow block in the green bowl'],
    ['set the lavender piece on top of the tangerine one', 'stack the purple block on the orange block'],
    ['the peach block should have the jade block sitting on it', 'stack the green block on the orange block'],
    ['slide the teal cube so it is west of the scarlet dish', 'move the blue block to the left of the red bowl'],
    ['behind the grape coloured block, put the gold cube', 'move the yellow block above the purple block'],
    ['nudge the crimson brick in front of the sapphire tub', 'move the red block below the blue bowl'],
    ['Organise every block by colour into the dishes', 'sort the blocks into the bowls of matching colour'],
    ['make a pillar: violet at the base, then amber, and lime at the very top', 'build a tower with the purple block at the bottom, the orange block in the middle and the green block on top'],
    ['Tower, top down: yellow, red, blue', 'build a tower with the blue block at the bottom, the red block in the middle and the yellow block on top'],
    ['First drop the navy cube in the rose bowl. After that, put the mint block on the plum one.', 'put the blue block in the red bowl, then stack the green block on the purple block'],
    ['Put the cherry cube in the emerald dish; also, the violet cube goes to the east of the azure cube', 'put the red block in the green bowl and move the purple block to the right of the blue block'],
    ['Plase move the lemon cube rigth of the cobalt bowl', 'move the yellow block to the right of the blue bowl'],
  ];
  for (const [said, meant] of cases) {
    it(`"${said}"`, () => {
      assert.equal(readGoal(said), meant);
      assert.ok(isCanonical(meant));
      // The loop's canonicaliser reads what its lexicon does not know.
      assert.equal(canonicalGoal(said), meant);
    });
  }

  it('declines what it cannot read unambiguously, and the loop then keeps the wording', () => {
    for (const text of ['wave at the camera', 'put the red block somewhere nice', 'put the red block and the blue block', 'stack the blocks']) {
      assert.equal(readGoal(text), null, text);
      assert.equal(canonicalGoal(text), text);
    }
  });

  it('leaves canonical goals and real words alone: "bright" is not "right", "lift" is not "left"', () => {
    assert.equal(canonicalGoal('put the red block in the blue bowl, then stack the green block on the red block'), 'put the red block in the blue bowl, then stack the green block on the red block');
    assert.equal(readGoal('lift the bright orange cube into the navy bowl'), 'put the orange block in the blue bowl');
  });
});

describe('readGoal on the development families (sim/tasks/paraphraseDev*.ts)', () => {
  // Their authors saw neither the reader nor the canonicaliser; the reader was developed on them. The
  // held-out family (paraphrase-blind) is measured by bench:planners only.
  const same = (a: string, b: string) => a.replace(/ and (?=put|stack|move)/g, ', then ') === b.replace(/ and (?=put|stack|move)/g, ', then ');
  for (const [name, reword] of [['paraphraseDev', paraphraseDev], ['paraphraseDev2', paraphraseDev2]] as const) {
    it(`${name}: the loop recovers at least 97% of 200 core goals`, () => {
      let ok = 0;
      for (let seed = 0; seed < 200; seed++) {
        const e = makeEpisode(CORE_SUITES[seed % 4]!, 'train', seed);
        if (same(canonicalGoal(reword(e.goal, Prng.from('readGoal', name, seed))), e.goal)) ok++;
      }
      assert.ok(ok >= 194, `${ok}/200`);
    });
  }
});
