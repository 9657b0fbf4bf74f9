import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

/**
 * A tiny authoritative DNS server over UDP on loopback, for tests of the DNS check's CNAME and TXT
 * queries: it answers each question as the test's zone says, including NXDOMAIN, SERVFAIL and silence.
 */

export type DnsAnswer = { type: 'CNAME'; target: string } | { type: 'TXT'; text: string[] };
/** What to do for a question: answers (an empty list is NOERROR with no data), an rcode, or no reply. */
export type DnsReply = DnsAnswer[] | 'NXDOMAIN' | 'SERVFAIL' | 'drop';
export type DnsZone = (name: string, type: string) => DnsReply;

export interface FakeDnsServer {
  /** `127.0.0.1:port`, for `Resolver.setServers`. */
  address: string;
  /** Questions received, as `NAME TYPE`. */
  queries: string[];
  close(): Promise<void>;
}

const TYPES: Record<number, string> = { 1: 'A', 5: 'CNAME', 16: 'TXT', 28: 'AAAA', 255: 'ANY' };
const TYPE_CODES = { CNAME: 5, TXT: 16 } as const;
const RCODES = { NXDOMAIN: 3, SERVFAIL: 2 } as const;

export async function startFakeDnsServer(zone: DnsZone): Promise<FakeDnsServer> {
  const socket = createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (query, peer) => {
    const question = parseQuestion(query);
    if (!question) return;
    queries.push(`${question.name} ${question.type}`);
    const reply = zone(question.name, question.type);
    if (reply === 'drop') return;
    socket.send(encodeReply(query, question.end, reply), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(socket.address() as AddressInfo).port}`,
    queries,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

function parseQuestion(query: Buffer): { name: string; type: string; end: number } | undefined {
  if (query.length < 12 || query.readUInt16BE(4) < 1) return undefined;
  const labels: string[] = [];
  let offset = 12;
  while (offset < query.length) {
    const length = query[offset]!;
    offset += 1;
    if (length === 0) break;
    labels.push(query.subarray(offset, offset + length).toString('ascii'));
    offset += length;
  }
  if (offset + 4 > query.length) return undefined;
  const typeCode = query.readUInt16BE(offset);
  return { name: labels.join('.').toLowerCase(), type: TYPES[typeCode] ?? String(typeCode), end: offset + 4 };
}

/** The reply: the query's header and question echoed back, then the answers. */
function encodeReply(query: Buffer, questionEnd: number, reply: Exclude<DnsReply, 'drop'>): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0); // id
  const recursionDesired = query[2]! & 0x01;
  const rcode = typeof reply === 'string' ? RCODES[reply] : 0;
  header[2] = 0x80 | 0x04 | recursionDesired; // QR, AA, RD as asked
  header[3] = 0x80 | rcode; // RA, rcode
  header.writeUInt16BE(1, 4);
  const answers = typeof reply === 'string' ? [] : reply;
  header.writeUInt16BE(answers.length, 6);
  return Buffer.concat([header, query.subarray(12, questionEnd), ...answers.map(encodeAnswer)]);
}

function encodeAnswer(answer: DnsAnswer): Buffer {
  const data =
    answer.type === 'CNAME'
      ? encodeName(answer.target)
      : Buffer.concat(
          answer.text.map((chunk) => Buffer.concat([Buffer.from([chunk.length]), Buffer.from(chunk)])),
        );
  const fixed = Buffer.alloc(12);
  fixed.writeUInt16BE(0xc00c, 0); // name: pointer to the question's name
  fixed.writeUInt16BE(TYPE_CODES[answer.type], 2);
  fixed.writeUInt16BE(1, 4); // class IN
  fixed.writeUInt32BE(60, 6); // TTL
  fixed.writeUInt16BE(data.length, 10);
  return Buffer.concat([fixed, data]);
}

function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.');
  return Buffer.concat([
    ...labels.map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, 'ascii')])),
    Buffer.from([0]),
  ]);
}
