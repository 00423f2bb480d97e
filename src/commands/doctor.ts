// iact doctor: what each driver needs and whether this machine has it, with the fix.
import { doctorJson, defaultDriverUsable, renderDoctorText } from '../doctor/render.js';
import { probeMachine } from '../doctor/probes.js';
import type { CommandIO } from './io.js';

export default async function doctor(opts: Record<string, unknown>, io: CommandIO): Promise<number> {
  const results = await probeMachine({ env: io.env, uid: process.getuid?.() ?? -1 });
  if (opts.json) io.stdout(`${JSON.stringify(doctorJson(results), null, 2)}\n`);
  else io.stdout(renderDoctorText(results, { color: io.color }));
  return defaultDriverUsable(results) ? 0 : 1;
}
