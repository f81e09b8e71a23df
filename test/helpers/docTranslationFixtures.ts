/**
 * PP-DocTranslation test setup: the built-in YAML with the LLM pointed at a local OpenAI-compatible
 * stub and the PP-StructureV3 visual stage on a layout fixture, the stages its fixtures lack switched off.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { API_KEY, CHAT_MODEL } from './chatocrFixtures.js';
import { fixtureTempRoot } from './fixtures.js';
import { REPO_ROOT } from './paths.js';

export async function docTranslationYaml(
  llmBaseUrl: string,
  layoutDir: string,
  upstream: { timeout?: number; max_retries?: number } = {},
): Promise<string> {
  const config = YAML.parse(await readFile(path.join(REPO_ROOT, 'configs', 'PP-DocTranslation.yaml'), 'utf8'));
  Object.assign(config.SubModules.LLM_Chat, { base_url: llmBaseUrl, api_key: API_KEY, model_name: CHAT_MODEL, ...upstream });
  const parser = config.SubPipelines.LayoutParser;
  parser.SubModules.LayoutDetection.model_dir = layoutDir;
  // no doc preprocessor, table, formula, seal or region models here (PP-StructureV3 still runs the doc stage, its steps off)
  Object.assign(parser.SubPipelines.DocPreprocessor, { use_doc_orientation_classify: false, use_doc_unwarping: false });
  Object.assign(parser, {
    use_doc_preprocessor: false,
    use_table_recognition: false,
    use_formula_recognition: false,
    use_seal_recognition: false,
    use_region_detection: false,
  });
  const file = path.join(await mkdtemp(path.join(fixtureTempRoot(), 'PP-DocTranslation-')), 'PP-DocTranslation.yaml');
  await writeFile(file, YAML.stringify(config));
  return file;
}
