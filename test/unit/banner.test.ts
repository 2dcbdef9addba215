// The start-up banner shows a generated dev key only on a terminal: `npm start > log` must not
// write it to the log, and says where the key is kept instead.
import { describe, expect, it } from 'vitest';
import { writeBanner, type BannerInfo, type BannerOutput } from '../../infra/banner.js';

const KEY = 'gh_dev_abcdefghijklmnopqrstuvwxyz012345';
const info: BannerInfo = {
  apiUrl: 'http://127.0.0.1:8080',
  temporalUi: 'http://127.0.0.1:8233',
  database: 'embedded PGlite + pgvector',
  models: 'local',
  key: { value: KEY, generated: true },
};

function capture(isTTY: boolean | undefined): BannerOutput & { text: string } {
  const out = { isTTY, text: '', write: (s: string) => (out.text += s) };
  return out;
}

describe('start-up banner', () => {
  it('names the key file instead of printing the key when stdout is not a terminal', () => {
    for (const isTTY of [false, undefined]) {
      const out = capture(isTTY);
      writeBanner(out, info, { dataDir: '/srv/gatehouse/.data' });
      expect(out.text).not.toContain(KEY);
      expect(out.text).toContain('kept in /srv/gatehouse/.data/dev-api-key');
      expect(out.text).toContain('Bearer $(cat /srv/gatehouse/.data/dev-api-key)');
    }
  });

  it('shows a generated key on a terminal', () => {
    const out = capture(true);
    writeBanner(out, info, { dataDir: '.data' });
    expect(out.text).toContain(`API key      ${KEY}`);
  });

  it('never shows an operator-supplied key, terminal or not', () => {
    const out = capture(true);
    writeBanner(out, { ...info, key: { value: KEY, generated: false } }, { dataDir: '.data' });
    expect(out.text).not.toContain(KEY);
    expect(out.text).toContain('the one in GATEHOUSE_API_KEY');
  });
});
