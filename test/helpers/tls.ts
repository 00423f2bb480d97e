// A tls: true sandbox seen by the service's own client (docs/operators.md "TLS sandboxes"): from the
// host, verify-full against the sandbox's CA works (at 127.0.0.1 and localhost unless told), plaintext
// and a login trusting another CA are refused; inside iact exec, run and connect, the same question
// gets the same answer.
import { expect } from 'vitest';
import { type Credentials, query } from './services.js';

export type TlsService = 'postgres' | 'mysql' | 'redis';
export const TLS_SERVICES: readonly TlsService[] = ['postgres', 'mysql', 'redis'];

/** A statement and the answer that shows the session is encrypted (redis answers a TLS client only). */
const ENCRYPTED: Record<TlsService, { statement: string; answer: RegExp }> = {
  postgres: { statement: "select 'ssl:' || ssl from pg_stat_ssl where pid = pg_backend_pid()", answer: /^\s*ssl:true$/m },
  mysql: { statement: "show status like 'Ssl_version'", answer: /^Ssl_version\tTLSv1\.[23]$/m },
  redis: { statement: 'PING', answer: /^PONG$/m },
};

/** The question as a shell command with nothing but what iact exec and iact run export (verify-full). */
const FROM_ENV: Record<TlsService, string> = {
  postgres: `psql -X -w -tA -c "${ENCRYPTED.postgres.statement}"`,
  mysql: `mariadb --no-defaults --protocol=TCP -h "$MYSQL_HOST" -P "$MYSQL_TCP_PORT" -u "$MYSQL_USER" --ssl --ssl-ca="$DB_SSL_CA" --ssl-verify-server-cert -N -B -e "${ENCRYPTED.mysql.statement}" "$MYSQL_DATABASE"`,
  redis: `redis-cli --no-auth-warning -u "$REDIS_URL" --cacert "$REDIS_SSL_CA" ${ENCRYPTED.redis.statement}`,
};

/** The question for SERVICE: as a shell command from the exported variables, as typed into iact connect, and the answer. */
export function encryptedCheck(service: TlsService): { fromEnv: string; typed: string; answer: RegExp } {
  const { statement, answer } = ENCRYPTED[service];
  return { fromEnv: FROM_ENV[service], typed: `${statement}${service === 'redis' ? '' : ';'}\n`, answer };
}

/** What each client says when the server turns plaintext away (mariadb says it as an access denial). */
const PLAINTEXT_REFUSED: Record<TlsService, RegExp> = {
  postgres: /no pg_hba\.conf entry .* no encryption/,
  mysql: /insecure transport are prohibited|Access denied for user/,
  redis: /Connection reset|Server closed the connection|I\/O error/i,
};

/** Whether a plaintext login (TLS off in the client) gets an answer. */
export async function plaintextAccepted(service: TlsService, login: Credentials, host?: string): Promise<boolean> {
  const r = await query(service, login, service === 'redis' ? ['PING'] : ['select 1'], { host, tls: 'off' });
  return r.exitCode === 0 && r.stdout === (service === 'redis' ? 'PONG' : '1');
}

/**
 * The service serves TLS only: verified logins with `ca` work at each of `hosts` (names its certificate
 * is made for), plaintext and `otherCa` are refused at the first.
 */
export async function expectTlsOnly(
  service: TlsService,
  login: Credentials,
  ca: string,
  otherCa: string,
  hosts = ['127.0.0.1', 'localhost'],
): Promise<void> {
  const { statement, answer } = ENCRYPTED[service];
  const [first] = hosts;
  for (const host of hosts) {
    const secure = await query(service, login, [statement], { host, tls: { ca } });
    expect(secure.exitCode, `${service} at ${host}: ${secure.stderr}`).toBe(0);
    expect(secure.stdout, `${service} at ${host}`).toMatch(answer);
  }
  const plain = await query(service, login, [statement], { host: first, tls: 'off' });
  expect(plain.stdout, `${service}: plaintext`).not.toMatch(answer);
  expect(plain.stderr + plain.stdout, `${service}: plaintext`).toMatch(PLAINTEXT_REFUSED[service]);
  const wrongCa = await query(service, login, [statement], { host: first, tls: { ca: otherCa } });
  expect(wrongCa.stdout, `${service}: another CA`).not.toMatch(answer);
  // OpenSSL's words for a chain the CA given does not vouch for (mariadb names the reason only).
  expect(wrongCa.stderr + wrongCa.stdout, `${service}: another CA`).toMatch(
    /certificate verify failed|self-signed certificate in certificate chain/i,
  );
}
