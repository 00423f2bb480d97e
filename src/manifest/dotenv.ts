// .env text -> variables. Node's built-in util.parseEnv (20.12+) is dotenv's grammar at no import
// cost (dotenv's module costs ~10 ms of cold start); older Node falls back to dotenv's parse.
import { createRequire } from 'node:module';
import util from 'node:util';

type Parse = (text: string) => Record<string, string>;

let parser: Parse | undefined;

export function parseDotenv(text: string): Record<string, string> {
  parser ??= (util as unknown as { parseEnv?: Parse }).parseEnv ?? ((createRequire(import.meta.url)('dotenv') as { parse: Parse }).parse);
  return { ...parser(text) };
}
