// The raw bytes of every parameter of a saved model folder, to compare two models exactly.
import { loadModel } from '../../src/model/load.ts';

export function parameterBytes(dir: string): Map<string, Uint8Array> {
  const model = loadModel(dir);
  const out = new Map([...model.params].map(([name, p]) => [name, p.bytes()]));
  model.dispose();
  return out;
}
