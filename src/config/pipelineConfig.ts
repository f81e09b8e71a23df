import { readFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.js';

/** Folder of the built-in PaddleX-named pipeline YAMLs (`configs/` at the package root). */
export const BUILTIN_CONFIG_DIR = fileURLToPath(new URL('../../../configs/', import.meta.url));

const subModuleSchema = z
  .object({
    module_name: z.string(),
    model_name: z.string(),
    model_dir: z.string().nullish(),
    batch_size: z.number().int().positive().nullish(),
  })
  .passthrough();

const servingSchema = z
  .object({
    visualize: z.boolean().nullish(),
    extra: z.record(z.string(), z.unknown()).nullish(),
  })
  .passthrough();

/**
 * SubModules entries that group other blocks rather than name a model: PaddleX's ChatOCR YAMLs put
 * their prompt blocks under `SubModules.PromptEngneering` (misspelled upstream; this exact spelling).
 */
export const MODULE_GROUPS: readonly string[] = ['PromptEngneering'];
const moduleGroupSchema = z.record(z.string(), z.looseObject({ module_name: z.string() }));

const subModulesSchema = z.record(z.string(), z.unknown()).transform((modules, ctx) => {
  const checked: Record<string, unknown> = {};
  for (const [role, value] of Object.entries(modules)) {
    const parsed = (MODULE_GROUPS.includes(role) ? moduleGroupSchema : subModuleSchema).safeParse(value);
    if (parsed.success) checked[role] = parsed.data;
    else for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: [role, ...issue.path] });
  }
  return checked as Record<string, SubModuleConfig>;
});

export interface SubModuleConfig {
  module_name: string;
  model_name: string;
  model_dir?: string | null;
  batch_size?: number | null;
  [param: string]: unknown;
}

export interface PipelineConfig {
  pipeline_name: string;
  SubModules?: Record<string, SubModuleConfig>;
  SubPipelines?: Record<string, PipelineConfig>;
  Serving?: z.infer<typeof servingSchema>;
  [param: string]: unknown;
}

const pipelineSchema: z.ZodType<PipelineConfig> = z.lazy(() =>
  z
    .object({
      pipeline_name: z.string(),
      SubModules: subModulesSchema.nullish().transform((v) => v ?? undefined),
      SubPipelines: z
        .record(z.string(), pipelineSchema)
        .nullish()
        .transform((v) => v ?? undefined),
      Serving: servingSchema.nullish().transform((v) => v ?? undefined),
    })
    .passthrough(),
) as z.ZodType<PipelineConfig>;

export interface LoadedPipelineConfig {
  config: PipelineConfig;
  /** where it came from: a user file, or `builtin:<name>` */
  source: string;
}

export function builtinPipelineNames(): string[] {
  return readdirSync(BUILTIN_CONFIG_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

/** The text of a built-in config, for `--get_pipeline_config`. */
export async function builtinConfigText(name: string): Promise<string> {
  return readFile(builtinConfigPath(name), 'utf8');
}

function builtinConfigPath(name: string): string {
  // PaddleX resolves names to exact, case-sensitive file names.
  const file = path.join(BUILTIN_CONFIG_DIR, `${name}.yaml`);
  if (!builtinPipelineNames().includes(name) || !existsSync(file)) {
    throw new ConfigError(
      `Unknown pipeline "${name}". Built-in pipelines: ${builtinPipelineNames().join(', ')}. ` +
        'Or pass the path of a pipeline YAML file (ending in .yaml or .yml).',
    );
  }
  return file;
}

/** `--pipeline` takes a built-in name or a path ending in .yaml/.yml, as PaddleX's CLI does. */
export async function loadPipelineConfig(nameOrPath: string): Promise<LoadedPipelineConfig> {
  const isPath = /\.ya?ml$/i.test(nameOrPath);
  const file = isPath ? path.resolve(nameOrPath) : builtinConfigPath(nameOrPath);
  if (isPath && !existsSync(file)) throw new ConfigError(`Pipeline config file not found: ${file}`);
  const text = await readFile(file, 'utf8');
  return { config: parsePipelineConfig(text, file), source: isPath ? file : `builtin:${nameOrPath}` };
}

export function parsePipelineConfig(text: string, source: string): PipelineConfig {
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (err) {
    throw new ConfigError(`${source}: not valid YAML: ${(err as Error).message}`);
  }
  const parsed = pipelineSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${formatKeyPath(i.path)}: ${i.message}`);
    throw new ConfigError(`${source}: invalid pipeline config:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

export function formatKeyPath(keyPath: readonly PropertyKey[]): string {
  return keyPath.length ? keyPath.map(String).join('.') : '(top level)';
}

/** A pipeline-level or module-level parameter, checked, with the YAML key path in the error. */
export function readParam<T>(holder: Record<string, unknown>, key: string, schema: z.ZodType<T>, keyPath: string, fallback: T): T {
  const value = holder[key];
  if (value === undefined || value === null) return fallback;
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new ConfigError(`${keyPath}.${key}: ${parsed.error.issues.map((i) => i.message).join('; ')} (got ${JSON.stringify(value)})`);
  }
  return parsed.data;
}
