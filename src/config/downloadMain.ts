import { ConfigError } from '../errors.js';
import { downloadOfficialModel } from './download.js';

/** Child-process entry of downloadOfficialModelSync: `node downloadMain.js <model_name> <models dir>`. */
const [modelName, modelsDir] = process.argv.slice(2) as [string, string];
downloadOfficialModel(modelName, modelsDir, (line) => process.stderr.write(`${line}\n`)).catch((err: unknown) => {
  process.stdout.write(err instanceof ConfigError ? err.message : String((err as Error).stack));
  process.exit(1);
});
