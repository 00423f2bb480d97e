// Library entry: `import { loadEnvironmentConfig } from 'iact'`. Each area appends its own exports.
export type * from './model/types.js';
export { DiagnosticError, formatDiagnostic, formatDiagnostics, type Diagnostic, type SourceLocation } from './diagnostics.js';
export { makeConfig, type EnvironmentConfig } from './config/index.js';
export { loadEnvironmentConfig, type LoadConfigOptions } from './io/config.js';
export { connectionVariables, renderEnvFile, type ConnectionVariable } from './config/render.js';
export { loadEnvironment, listEnvironments } from './io/load.js';
export { resolveManifest } from './manifest/resolve.js';
export { detectEnvironment, describeDetected } from './manifest/detect.js';
export { detectEnvironmentIn } from './io/detect.js';
export { withSandbox, createEphemeral, type EphemeralSpec, type EphemeralOptions, type EphemeralSandbox } from './sandbox/ephemeral.js';
export { connectionFor, type SandboxConnection, type EphemeralService } from './sandbox/connection.js';
export { freePort, portTaken } from './sandbox/free-port.js';
export { buildPlan, type PlanInput, type PlanOptions } from './plan/planner.js';
export {
  PLAN_FORMAT_VERSION,
  hasChanges,
  type Plan,
  type ResourceChange,
  type ConfigChange,
  type Action,
  type Impact,
} from './plan/types.js';
export { effectOf, orderSteps } from './plan/impact.js';
export { CATALOG, SERVICES, serviceEntry, type ServiceEntry } from './catalog/index.js';
export { renderPlanText, renderPlanJson, renderPlanMarkdown } from './render/index.js';
export { getDriver } from './drivers/index.js';
export type { DriverReader, DriverWriter, DriverSpec, SandboxStatus } from './drivers/types.js';
export {
  plan,
  apply,
  destroy,
  status,
  IactError,
  type ProjectOptions,
  type PlanRequest,
  type ApplyRequest,
  type ApplyResult,
  type ApplyRecord,
  type SummaryRecord,
  type StatusReport,
} from './library/lifecycle.js';
export type { ActionResult, Outcome } from './apply/executor.js';
