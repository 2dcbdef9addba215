// A public labeled set to check our detectors against text we did not write: the synthetic
// dataset that Microsoft's presidio-evaluator ships in its source distribution
// (data/synth_dataset_v2.json, 1,500 sentences, MIT licence). Fetch it with
//
//   pip download presidio-evaluator==0.3.2 --no-binary :all: --no-deps -d /tmp/presidio
//   tar xzf /tmp/presidio/presidio_evaluator-0.3.2.tar.gz -C /tmp/presidio
//   npx tsx bench/guardrails/pii-eval.ts --public /tmp/presidio/presidio_evaluator-0.3.2/data/synth_dataset_v2.json
//
// (the wheel only has the templates and name lists, not the labeled sentences).
// Its labels map onto ours where the meaning is the same; the rest (ORGANIZATION, GPE, TITLE,
// DATE_TIME, AGE, NRP, ZIP_CODE, DOMAIN_NAME, US_DRIVER_LICENSE) are dropped, and
// DATE_OF_BIRTH and CREDENTIAL are not scored because the set does not label them.
import { readFileSync } from 'node:fs';
import type { PiiClass } from '../../activities/guardrails/types.js';
import type { LabeledText } from './pii-dataset.js';

const LABELS: Record<string, PiiClass> = {
  PERSON: 'PERSON',
  STREET_ADDRESS: 'POSTAL_ADDRESS',
  CREDIT_CARD: 'CREDIT_CARD',
  PHONE_NUMBER: 'PHONE_NUMBER',
  EMAIL_ADDRESS: 'EMAIL_ADDRESS',
  IBAN_CODE: 'IBAN',
  US_SSN: 'NATIONAL_ID',
  IP_ADDRESS: 'IP_ADDRESS',
};

interface PresidioRecord {
  full_text: string;
  spans: Array<{ entity_type: string; start_position: number; end_position: number }>;
}

export function loadPresidioSynthDataset(path: string): { texts: LabeledText[]; scoredClasses: PiiClass[] } {
  const records = JSON.parse(readFileSync(path, 'utf8')) as PresidioRecord[];
  const texts = records.map((r) => ({
    text: r.full_text,
    spans: r.spans
      .filter((s) => LABELS[s.entity_type])
      .map((s) => ({ type: LABELS[s.entity_type]!, start: s.start_position, end: s.end_position }))
      .sort((a, b) => a.start - b.start),
  }));
  return { texts, scoredClasses: [...new Set(Object.values(LABELS))] };
}
