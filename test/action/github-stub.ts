// A local stand-in for the GitHub REST API's issue comments, on 127.0.0.1 and a free port: it keeps
// comments in memory and records every request, so a test can see exactly what the action did.
import { createServer, type Server } from 'node:http';

export interface Recorded {
  method: string;
  url: string;
  authorization: string | undefined;
  body: { body?: string } | undefined;
}

export interface StubComment {
  id: number;
  body: string;
  html_url: string;
  user: { login: string; type: string };
}

export interface GitHubStub {
  url: string;
  requests: Recorded[];
  comments: StubComment[];
  close(): Promise<void>;
}

export async function startGitHubStub(repository: string, pr: number): Promise<GitHubStub> {
  const requests: Recorded[] = [];
  const comments: StubComment[] = [];
  let nextId = 1000;
  const listPath = `/repos/${repository}/issues/${pr}/comments`;
  const commentPath = new RegExp(`^/repos/${repository}/issues/comments/(\\d+)$`);
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const body = raw ? (JSON.parse(raw) as { body?: string }) : undefined;
      requests.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body });
      const url = new URL(req.url!, 'http://stub');
      const send = (status: number, data?: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(data === undefined ? '' : JSON.stringify(data));
      };
      if (body?.body !== undefined && body.body.length > 65_536)
        return send(422, { message: 'Body is too long (maximum is 65536 characters)' });
      if (url.pathname === listPath && req.method === 'GET') {
        const perPage = Number(url.searchParams.get('per_page') ?? 30);
        const page = Number(url.searchParams.get('page') ?? 1);
        return send(200, comments.slice((page - 1) * perPage, page * perPage));
      }
      if (url.pathname === listPath && req.method === 'POST') {
        const comment = {
          id: nextId,
          body: body!.body!,
          html_url: `https://github.example/${repository}/pull/${pr}#issuecomment-${nextId}`,
          user: { login: 'github-actions[bot]', type: 'Bot' },
        };
        nextId += 1;
        comments.push(comment);
        return send(201, comment);
      }
      const match = commentPath.exec(url.pathname);
      const found = match ? comments.find((c) => c.id === Number(match[1])) : undefined;
      if (found && req.method === 'PATCH') {
        found.body = body!.body!;
        return send(200, found);
      }
      if (found && req.method === 'DELETE') {
        comments.splice(comments.indexOf(found), 1);
        return send(204);
      }
      return send(404, { message: 'Not Found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, requests, comments, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
