#!/usr/bin/env node
// Keeps ONE iact comment on a pull request, updated in place on every run (as tfcmt and Atlantis
// do): action.yml runs it after `iact diff|plan --format markdown`. See docs/pull-requests.md.
//
// Reads (the composite step sets them): GITHUB_TOKEN, GITHUB_API_URL, GITHUB_REPOSITORY,
// IACT_PR_NUMBER (else the pull request of GITHUB_EVENT_PATH), IACT_COMMENT_FILE (iact's markdown),
// IACT_COMMENT_ERRORS (its stderr), IACT_EXIT_CODE, IACT_COMMAND, IACT_COMMENT_NAME.
// Writes comment-id, comment-url and comment-ids to GITHUB_OUTPUT. No dependency but Node 20's fetch.
import { appendFileSync, readFileSync } from 'node:fs';

/** GitHub refuses a comment body longer than this. */
export const GITHUB_COMMENT_LIMIT = 65_536;
/** iact separates comment bodies on stdout with these lines (src/diff/split.ts, src/render/index.ts). */
const PART_SEPARATOR = /\n*<!-- iact-(?:diff|plan): next comment -->\n*/;
const NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/** The hidden first line that marks our comments; the second line says which part this is. */
export const markerOf = (name) => `<!-- iact:${name} -->`;
const partLine = (name, index, count) => `<!-- iact:${name} part ${index} of ${count} -->`;
const PART_RE = /^<!-- iact:(\S+) part (\d+) of (\d+) -->$/m;

function fail(summary, fix) {
  process.stderr.write(`error: ${summary}\n${fix ? `  fix: ${fix}\n` : ''}`);
  process.exit(1);
}

/** Splits a body that is still too long between lines (iact's own parts already fit; this is the backstop). */
function fitting(parts, budget) {
  const out = [];
  for (const part of parts) {
    if (part.length <= budget) {
      out.push(part);
      continue;
    }
    let current = '';
    for (const line of part.split('\n')) {
      const piece = line.length > budget ? `${line.slice(0, budget - 20)} … (truncated)` : line;
      if (current !== '' && current.length + 1 + piece.length > budget) {
        out.push(current);
        current = '';
      }
      current = current === '' ? piece : `${current}\n${piece}`;
    }
    if (current !== '') out.push(current);
  }
  return out;
}

/** The comment bodies for this run, each with the marker and its index, each under GitHub's limit. */
export function commentBodies({ name, markdown, errors, exitCode, command }) {
  const header = `${markerOf(name)}\n${partLine(name, 999, 999)}\n`;
  let parts;
  if (exitCode !== 0 && exitCode !== 2) {
    const log = errors.trim().slice(-20_000) || '(nothing on stderr)';
    parts = [
      `**iact ${command} failed** (exit code ${exitCode}); the job log has the details.\n\n\`\`\`\n${log.replace(/```/g, "'''")}\n\`\`\``,
    ];
  } else {
    parts = markdown
      .split(PART_SEPARATOR)
      .map((p) => p.trim())
      .filter((p) => p !== '');
    if (parts.length === 0) parts = [`**iact ${command}:** no changes.`];
  }
  parts = fitting(parts, GITHUB_COMMENT_LIMIT - header.length);
  return parts.map((p, i) => `${markerOf(name)}\n${partLine(name, i + 1, parts.length)}\n${p}\n`);
}

/** Part number of one of our comments (0 when the marker is ours but the part line is missing). */
export function partOf(body, name) {
  if (typeof body !== 'string' || !body.startsWith(`${markerOf(name)}\n`)) return undefined;
  const m = PART_RE.exec(body);
  return m && m[1] === name ? Number(m[2]) : 0;
}

function readEnv() {
  const env = process.env;
  const token = env.GITHUB_TOKEN;
  if (!token)
    fail(
      'GITHUB_TOKEN is not set',
      'pass github-token to the action (the default is the workflow token), with permissions: pull-requests: write',
    );
  const repository = env.GITHUB_REPOSITORY ?? '';
  if (!/^[^/\s]+\/[^/\s]+$/.test(repository))
    fail(`GITHUB_REPOSITORY '${repository}' is not owner/name`, 'run it in GitHub Actions, or set GITHUB_REPOSITORY');
  let pr = env.IACT_PR_NUMBER ?? '';
  if (pr === '' && env.GITHUB_EVENT_PATH) {
    try {
      const event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8'));
      pr = String(event.pull_request?.number ?? event.issue?.number ?? '');
    } catch {
      pr = '';
    }
  }
  if (!/^\d+$/.test(pr))
    fail('no pull request number: this run is not for a pull request', 'run the action on pull_request events, or pass pr-number');
  const command = env.IACT_COMMAND || 'diff';
  const name = env.IACT_COMMENT_NAME || command;
  if (!NAME_RE.test(name)) fail(`comment name '${name}' is not allowed`, 'use letters, digits, ".", "_" and "-"');
  const exitCode = Number(env.IACT_EXIT_CODE ?? '0');
  const read = (file) => {
    if (!file) return '';
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  return {
    api: (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, ''),
    token,
    repository,
    pr,
    name,
    command,
    exitCode: Number.isInteger(exitCode) ? exitCode : 1,
    markdown: read(env.IACT_COMMENT_FILE),
    errors: read(env.IACT_COMMENT_ERRORS),
  };
}

function client(api, token) {
  return async function request(method, path, body) {
    const response = await fetch(`${api}${path}`, {
      method,
      headers: {
        Accept: 'application/vnd.github+json',
        Authorization: `Bearer ${token}`,
        'X-GitHub-Api-Version': '2022-11-28',
        'User-Agent': 'iact-pr-comment',
        ...(body ? { 'Content-Type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!response.ok) {
      const text = await response.text();
      const hint =
        response.status === 403 || response.status === 404
          ? 'give the job permissions: pull-requests: write (a pull request from a fork gets a read-only token)'
          : 'run it again; see https://www.githubstatus.com when it persists';
      fail(`GitHub API ${method} ${path}: ${response.status} ${response.statusText}${text ? `: ${text.slice(0, 300)}` : ''}`, hint);
    }
    return response.status === 204 ? null : response.json();
  };
}

async function main() {
  const o = readEnv();
  const request = client(o.api, o.token);
  const base = `/repos/${o.repository}/issues`;
  const existing = [];
  for (let page = 1; ; page += 1) {
    const batch = await request('GET', `${base}/${o.pr}/comments?per_page=100&page=${page}`);
    for (const c of batch) {
      const part = partOf(c.body, o.name);
      if (part !== undefined) existing.push({ id: c.id, part, url: c.html_url });
    }
    if (batch.length < 100) break;
  }
  // Part 1 first; a comment whose part line was lost counts after the numbered ones.
  existing.sort((a, b) => (a.part || Number.MAX_SAFE_INTEGER) - (b.part || Number.MAX_SAFE_INTEGER) || a.id - b.id);
  const bodies = commentBodies(o);
  const kept = [];
  for (const [i, body] of bodies.entries()) {
    const old = existing[i];
    const saved = old
      ? await request('PATCH', `${base}/comments/${old.id}`, { body })
      : await request('POST', `${base}/${o.pr}/comments`, { body });
    kept.push({ id: saved.id, url: saved.html_url });
    process.stderr.write(`iact: ${old ? 'updated' : 'created'} comment ${saved.id} (part ${i + 1} of ${bodies.length})\n`);
  }
  for (const old of existing.slice(bodies.length)) {
    await request('DELETE', `${base}/comments/${old.id}`);
    process.stderr.write(`iact: deleted comment ${old.id} (a part this run no longer needs)\n`);
  }
  if (process.env.GITHUB_OUTPUT) {
    appendFileSync(
      process.env.GITHUB_OUTPUT,
      `comment-id=${kept[0].id}\ncomment-url=${kept[0].url ?? ''}\ncomment-ids=${kept.map((k) => k.id).join(',')}\n`,
    );
  }
}

// Imported by tests for commentBodies; run as a script by action.yml.
if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error) =>
    fail(
      `could not update the pull-request comment: ${error instanceof Error ? error.message : String(error)}`,
      'check GITHUB_API_URL and the network; run it again',
    ),
  );
}
