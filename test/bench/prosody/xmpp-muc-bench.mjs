// MUC fan-out benchmark over raw XMPP c2s sockets (no TLS, SASL PLAIN).
// N clients join one room; K of them each send M groupchat messages; every
// occupant (sender included, MUC reflects) must receive every message.
// Measures send->receive latency at every member, delivered msgs/s, and the
// server's RSS/CPU from /proc/<SERVER_PID>.
//
// Usage: node xmpp-muc-bench.mjs  (configure through env vars, see CFG)
// Every loop is bounded in count (N*K*M) and in wall time (DEADLINE_S).
//
// The performance anchor's generator (shared/perf), kept unchanged so its figures stay
// comparable; test/bench/chat/prosody.ts runs it. Biome leaves it as it came.
import net from 'node:net';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';

const env = (k, d) => (process.env[k] !== undefined ? process.env[k] : d);
const CFG = {
  host: env('HOST', '127.0.0.1'),
  port: +env('PORT', 55222),
  domain: env('DOMAIN', 'localhost'),
  mucDomain: env('MUC', 'conference.localhost'),
  room: env('ROOM', 'bench' + Date.now()),
  N: +env('N', 50),              // occupants
  K: +env('K', 5),               // senders (first K occupants)
  M: +env('M', 100),             // messages per sender
  RATE: +env('RATE', 0),         // total msgs/s offered by all senders; 0 = closed loop
  WINDOW: +env('WINDOW', 4),     // closed loop: max in-flight (un-reflected) msgs per sender
  BODY: +env('BODY', 100),       // body size in bytes (padded)
  CONNECT_CONC: +env('CONNECT_CONC', 50),
  DEADLINE_S: +env('DEADLINE_S', 110), // hard wall limit for the whole run
  SERVER_PID: +env('SERVER_PID', 0),
  USER_PREFIX: env('USER_PREFIX', 'u'),
  PASS: env('PASS', 'pw'),
  OUT: env('OUT', ''),
  LABEL: env('LABEL', ''),
};

const t0wall = performance.now();
const deadline = setTimeout(() => { finish('DEADLINE'); }, CFG.DEADLINE_S * 1000);

// ---------- /proc sampling of the server ----------
const HZ = 100;
function procStat(pid) {
  if (!pid) return null;
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    const cpu = (+f[11] + +f[12]) / HZ; // utime+stime seconds
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = +(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0) / 1024; // MiB
    const hwm = +(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0) / 1024;
    return { cpu, rss, hwm };
  } catch { return null; }
}
let peakRss = 0;
const sampler = setInterval(() => {
  const p = procStat(CFG.SERVER_PID); if (p && p.rss > peakRss) peakRss = p.rss;
}, 100);

// ---------- client ----------
const roomJid = `${CFG.room}@${CFG.mucDomain}`;
const streamHeader = `<?xml version='1.0'?><stream:stream to='${CFG.domain}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`;
const TOTAL_MSGS = CFG.K * CFG.M;
const sendTs = new Float64Array(TOTAL_MSGS).fill(NaN);
const recvCount = new Uint32Array(TOTAL_MSGS);
const lat = new Float64Array(TOTAL_MSGS * CFG.N); // all delivery latencies (ms)
let latN = 0, delivered = 0, dupes = 0, firstSend = Infinity, lastRecv = 0;
const expected = TOTAL_MSGS * CFG.N;
let phase = 'login';
let presencesSeen = 0;
let errors = [];
const loadavgStart = fs.readFileSync('/proc/loadavg', 'utf8').trim();
const lastSeqSeen = new Int32Array(CFG.N * CFG.K).fill(-1); let orderInversions = 0;

const TOKEN_RE = /Z(\d+)_(\d+)_Z/g;
const PAD = 'x'.repeat(Math.max(0, CFG.BODY - 20));

class Client {
  constructor(i) {
    this.i = i; this.user = `${CFG.USER_PREFIX}${i + 1}`; this.nick = `n${i}`;
    this.buf = ''; this.tail = ''; this.state = 'init'; this.inflight = 0; this.next = 0;
    this.waiters = []; this.joined = false; this.presences = 0;
  }
  connect() {
    return new Promise((resolve, reject) => {
      const s = this.sock = net.createConnection({ host: CFG.host, port: CFG.port });
      s.setNoDelay(true);
      s.setEncoding('latin1');
      s.on('error', (e) => { errors.push(`${this.user}: ${e.message}`); reject(e); });
      s.on('close', () => { if (phase !== 'done') errors.push(`${this.user}: closed in ${phase}`); });
      s.on('data', (d) => this.onData(d));
      s.on('connect', () => resolve());
    });
  }
  // login-phase helper: wait until the accumulated buffer contains `needle`
  waitFor(pred, what) {
    return new Promise((resolve, reject) => {
      const w = { pred, resolve, reject, what }; this.waiters.push(w); this.checkWaiters();
    });
  }
  checkWaiters() {
    for (let k = 0; k < this.waiters.length; k++) {
      const w = this.waiters[k];
      const r = w.pred(this.buf);
      if (r === 'fail') { this.waiters.splice(k, 1); k--; w.reject(new Error(`${this.user}: ${w.what} failed: ${this.buf.slice(0, 300)}`)); }
      else if (r) { this.waiters.splice(k, 1); k--; this.buf = ''; w.resolve(); }
    }
  }
  onData(d) {
    if (this.state !== 'run') {
      this.buf += d; this.scan(d); this.checkWaiters(); return;
    }
    this.scan(d);
  }
  // cheap scanner: count presences and extract message tokens, robust to chunk splits
  scan(d) {
    const s = this.tail + d;
    let lastEnd = 0, m;
    TOKEN_RE.lastIndex = 0;
    while ((m = TOKEN_RE.exec(s)) !== null) {
      lastEnd = TOKEN_RE.lastIndex;
      const now = performance.now();
      const id = (+m[1]) * CFG.M + (+m[2]);
      if (id >= TOTAL_MSGS) continue;
      const st = sendTs[id];
      if (recvCount[id] >= CFG.N) { dupes++; continue; }
      { const kk = this.i * CFG.K + (+m[1]); if (+m[2] < lastSeqSeen[kk]) orderInversions++; else lastSeqSeen[kk] = +m[2]; }
      recvCount[id]++; delivered++;
      lat[latN++] = now - st; if (now > lastRecv) lastRecv = now;
      if (+m[1] === this.i) { this.inflight--; if (CFG.RATE === 0) pump(this); }
    }
    // presence counting (for join-storm settling)
    let idx = 0;
    while ((idx = s.indexOf('<presence', idx)) !== -1) {
      if (idx + 9 > this.tailLen0) { this.presences++; presencesSeen++; }
      idx += 9;
    }
    const keepFrom = Math.max(lastEnd, s.length - 48);
    this.tail = s.slice(keepFrom);
    this.tailLen0 = this.tail.length; // presences already counted inside the tail
    if (delivered === expected && phase === 'send') finish('OK');
  }
  send(x) { this.sock.write(x, 'latin1'); }
  async login() {
    this.tailLen0 = 0;
    await this.connect();
    this.send(streamHeader);
    await this.waitFor((b) => b.includes('</stream:features>'), 'features');
    const cred = Buffer.from(`\0${this.user}\0${CFG.PASS}`).toString('base64');
    this.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${cred}</auth>`);
    await this.waitFor((b) => (b.includes('<success') ? true : b.includes('<failure') ? 'fail' : false), 'auth');
    this.send(streamHeader);
    await this.waitFor((b) => b.includes('</stream:features>'), 'features2');
    this.send(`<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>`);
    await this.waitFor((b) => (b.includes("id='b1'") && b.includes('</iq>')) || b.includes("id=\"b1\""), 'bind');
  }
  async join() {
    this.send(`<presence to='${roomJid}/${this.nick}'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>`);
    await this.waitFor((b) => (b.includes("code='110'") || b.includes('code="110"') ? true : b.includes("type='error'") ? 'fail' : false), 'join');
    this.joined = true;
  }
  sendMsg() {
    const q = this.next++;
    const id = this.i * CFG.M + q;
    const now = performance.now();
    sendTs[id] = now; if (now < firstSend) firstSend = now;
    this.inflight++;
    this.send(`<message to='${roomJid}' type='groupchat' id='m${id}'><body>Z${this.i}_${q}_Z ${PAD}</body></message>`);
  }
}

function pump(c) {
  while (c.inflight < CFG.WINDOW && c.next < CFG.M) c.sendMsg();
}

async function pool(items, conc, fn) {
  let k = 0;
  const workers = Array.from({ length: Math.min(conc, items.length) }, async () => {
    while (k < items.length) { const it = items[k++]; await fn(it); }
  });
  await Promise.all(workers);
}

function pct(arr, n, p) {
  if (n === 0) return NaN;
  const idx = Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1));
  return arr[idx];
}

let result = null;
const clients = [];
const marks = {};
async function main() {
  marks.base = procStat(CFG.SERVER_PID);
  for (let i = 0; i < CFG.N; i++) clients.push(new Client(i));
  const tl0 = performance.now();
  await pool(clients, CFG.CONNECT_CONC, (c) => c.login());
  marks.loginMs = performance.now() - tl0;
  marks.afterLogin = procStat(CFG.SERVER_PID);
  if (process.env.STOP_AFTER === 'login') { await new Promise((r) => setTimeout(r, 1000)); marks.afterLogin = procStat(CFG.SERVER_PID); return finish('LOGIN_ONLY'); }
  phase = 'join';
  const tj0 = performance.now();
  // join sequentially in small parallel batches (room creation by the first one)
  await clients[0].join();
  await pool(clients.slice(1), 10, (c) => c.join());
  marks.joinMs = performance.now() - tj0;
  // settle: every occupant should eventually have seen N presences
  const settleStart = performance.now();
  while (presencesSeen < CFG.N * CFG.N && performance.now() - settleStart < 15000) await new Promise((r) => setTimeout(r, 50));
  marks.settleMs = performance.now() - settleStart;
  marks.presencesSeen = presencesSeen;
  await new Promise((r) => setTimeout(r, 300));
  for (const c of clients) { c.state = 'run'; c.buf = ''; }
  marks.afterJoin = procStat(CFG.SERVER_PID);
  peakRss = marks.afterJoin?.rss ?? 0;
  marks.clientCpu0 = process.cpuUsage();
  phase = 'send';
  marks.sendStart = performance.now();
  const senders = clients.slice(0, CFG.K);
  if (CFG.RATE === 0) {
    for (const c of senders) pump(c);
  } else {
    let sent = 0; const t0 = performance.now();
    const timer = setInterval(() => {
      const target = Math.min(TOTAL_MSGS, Math.floor(((performance.now() - t0) / 1000) * CFG.RATE));
      while (sent < target) {
        // round-robin over senders that still have messages
        const c = senders[sent % CFG.K];
        if (c.next < CFG.M) c.sendMsg();
        sent++;
      }
      if (sent >= TOTAL_MSGS) clearInterval(timer);
    }, 1);
  }
}

function finish(why) {
  if (result) return;
  phase = 'done';
  clearTimeout(deadline); clearInterval(sampler);
  const end = procStat(CFG.SERVER_PID);
  const l = lat.subarray(0, latN).sort();
  const dur = (lastRecv - firstSend) / 1000;
  const cc = marks.clientCpu0 ? process.cpuUsage(marks.clientCpu0) : null;
  result = {
    label: CFG.LABEL, status: why, cfg: CFG, loadavg_start: loadavgStart, loadavg_end: fs.readFileSync('/proc/loadavg', 'utf8').trim(), order_inversions_per_sender: orderInversions,
    login_ms: +marks.loginMs?.toFixed(0), join_ms: +marks.joinMs?.toFixed(0), settle_ms: +marks.settleMs?.toFixed(0),
    presences_seen: marks.presencesSeen, presences_expected: CFG.N * CFG.N,
    messages_sent: TOTAL_MSGS, deliveries_expected: expected, deliveries: delivered, dupes, lost: expected - delivered,
    send_phase_s: +dur.toFixed(3),
    ingress_msgs_per_s: +(TOTAL_MSGS / dur).toFixed(0),
    delivered_per_s: +(delivered / dur).toFixed(0),
    lat_ms: { p50: pct(l, latN, 50), p90: pct(l, latN, 90), p99: pct(l, latN, 99), p999: pct(l, latN, 99.9), max: l[latN - 1] },
    server: CFG.SERVER_PID ? {
      rss_base_mib: marks.base?.rss, rss_after_login_mib: marks.afterLogin?.rss, rss_after_join_mib: marks.afterJoin?.rss,
      rss_peak_send_mib: peakRss, rss_end_mib: end?.rss,
      cpu_s_send_phase: end && marks.afterJoin ? +(end.cpu - marks.afterJoin.cpu).toFixed(2) : null,
      cpu_util_send_phase: end && marks.afterJoin ? +((end.cpu - marks.afterJoin.cpu) / dur).toFixed(2) : null,
      cpu_us_per_delivery: end && marks.afterJoin && delivered ? +(((end.cpu - marks.afterJoin.cpu) * 1e6) / delivered).toFixed(2) : null,
    } : null,
    loadgen_cpu_util_send_phase: cc ? +(((cc.user + cc.system) / 1e6) / dur).toFixed(2) : null,
    errors: errors.slice(0, 5), error_count: errors.length,
    wall_s: +((performance.now() - t0wall) / 1000).toFixed(1),
  };
  for (const k of ['p50', 'p90', 'p99', 'p999', 'max']) result.lat_ms[k] = +(+result.lat_ms[k]).toFixed(2);
  const js = JSON.stringify(result, null, 1);
  console.log(js);
  if (CFG.OUT) fs.appendFileSync(CFG.OUT, JSON.stringify(result) + '\n');
  for (const c of clients) { try { c.sock?.end('</stream:stream>'); c.sock?.destroy(); } catch {} }
  setTimeout(() => process.exit(0), 200).unref();
}

main().catch((e) => { errors.push(String(e?.message || e)); finish('ERROR'); });
