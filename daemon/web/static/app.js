// vstreamd's live page: polls /api/status and /api/history once a second,
// draws the charts on canvases, and shows the previews as Motion JPEG.
'use strict';

const samples = [];          // from /api/history, oldest first
const spanMs = 5 * 60 * 1000; // the charts show at most the last five minutes
const minSpanMs = 60 * 1000;  // and at least one
let lastT = 0;

const charts = [
  { id: 'chart-fps', series: [
    { key: 'tx_fps', name: 'sent', color: '#7cb7ff' },
    { key: 'rx_fps', name: 'received', color: '#7ee08a' } ] },
  { id: 'chart-latency', series: [
    { key: 'lat_p50_ms', name: 'p50', color: '#7ee08a' },
    { key: 'lat_p95_ms', name: 'p95', color: '#f5c15c' },
    { key: 'transport_p50_ms', name: 'transport p50', color: '#7cb7ff' } ] },
  { id: 'chart-loss', scale: 100, series: [
    { key: 'rx_loss', name: 'received', color: '#f58a5c' },
    { key: 'peer_loss', name: 'sent (peer reports)', color: '#c78bff' } ] },
  { id: 'chart-bitrate', scale: 1e-6, series: [
    { key: 'tx_bps', name: 'sent', color: '#7cb7ff' },
    { key: 'rx_bps', name: 'received', color: '#7ee08a' },
    { key: 'target_bps', name: 'target (adaptation)', color: '#f5c15c' } ] },
];

function drawChart(c) {
  const cv = document.getElementById(c.id);
  const g = cv.getContext('2d');
  const W = cv.width, H = cv.height, L = 44, R = 8, T = 22, B = 18;
  g.clearRect(0, 0, W, H);
  const now = samples.length ? samples[samples.length - 1].t : Date.now();
  const span = Math.min(spanMs, Math.max(minSpanMs, samples.length ? now - samples[0].t : 0));
  const t0 = now - span;
  const k = c.scale || 1;
  let ymax = 0;
  for (const s of samples) for (const ser of c.series) ymax = Math.max(ymax, (s[ser.key] || 0) * k);
  ymax = niceCeil(ymax || 1);
  g.strokeStyle = '#333a42'; g.fillStyle = '#8b949e'; g.font = '11px system-ui, sans-serif'; g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = T + (H - T - B) * i / 4;
    g.beginPath(); g.moveTo(L, y); g.lineTo(W - R, y); g.stroke();
    g.fillText(fmt(ymax * (4 - i) / 4), 4, y + 4);
  }
  g.fillText('-' + Math.round(span / 1000) + ' s', L, H - 4); g.fillText('now', W - R - 24, H - 4);
  let points = 0, x = L;
  for (const ser of c.series) {
    g.strokeStyle = ser.color; g.lineWidth = 2; g.beginPath();
    let started = false;
    for (const s of samples) {
      if (s.t < t0) continue;
      const px = L + (W - L - R) * (s.t - t0) / span;
      const py = T + (H - T - B) * (1 - Math.min((s[ser.key] || 0) * k, ymax) / ymax);
      if (started) g.lineTo(px, py); else { g.moveTo(px, py); started = true; }
      points++;
    }
    g.stroke();
    g.fillStyle = ser.color; g.fillRect(x, 6, 10, 10);
    g.fillStyle = '#c9d1d9'; g.fillText(ser.name, x + 14, 15);
    x += 24 + g.measureText(ser.name).width;
  }
  cv.dataset.points = points;
}

function niceCeil(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function fmt(v) { return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2); }

function statusText(s) {
  const tx = s.tx, rx = s.rx, lines = [];
  lines.push(`${s.version}: ${s.state} (up ${Math.round(s.uptime_seconds)} s)`);
  lines.push(`peer       ${s.peer} (${s.peer_addr}), heard ${s.last_heard_seconds < 0 ? 'never' : s.last_heard_seconds.toFixed(1) + ' s ago'}`);
  lines.push(`local      ${s.listen}, session ${s.session}`);
  lines.push(`security   ${s.encryption}`);
  lines.push(`clock      rtt ${s.rtt_ms.toFixed(2)} ms, offset ${s.clock_offset_ms.toFixed(2)} ms`);
  if (tx.enabled) {
    lines.push(`sending    ${tx.fps.toFixed(1)} fps, ${(tx.bitrate_bps / 1e6).toFixed(1)} Mb/s, parity ${tx.parity.toFixed(2)}, quality ${tx.quality}`);
    lines.push(`           frames ${tx.frames}, packets ${tx.packets} (${tx.parity_packets} parity), skipped ${tx.frames_skipped}`);
    if (tx.adapt && tx.adapt.enabled) {
      const a = tx.adapt;
      lines.push(`           adaptation ${a.state}: estimate ${(a.estimate_bps / 1e6).toFixed(1)} Mb/s, target ${(a.target_bps / 1e6).toFixed(1)} Mb/s, ${a.width}x${a.height}@${a.fps} q${a.quality}${a.reason ? ' (' + a.reason + ')' : ''}`);
    }
    if (tx.peer_report) {
      const r = tx.peer_report;
      lines.push(`           peer reports: delivered ${r.frames_delivered}, late ${r.frames_late}, lost ${r.frames_lost}; loss ${(100 * r.loss_ratio).toFixed(1)}%; latency p50/p95 ${r.latency_ms.p50.toFixed(1)}/${r.latency_ms.p95.toFixed(1)} ms`);
    }
  }
  if (rx.enabled) {
    lines.push(`receiving  ${rx.fps.toFixed(1)} fps, ${(rx.bitrate_bps / 1e6).toFixed(1)} Mb/s, loss ${(100 * rx.loss_ratio).toFixed(1)}%`);
    lines.push(`           delivered ${rx.frames_delivered} (FEC ${rx.frames_recovered}), late ${rx.frames_late}, incomplete ${rx.frames_incomplete}, lost ${rx.frames_lost}, corrupt ${rx.frames_corrupt}`);
    lines.push(`           latency p50/p95/p99 ${rx.latency_ms.p50.toFixed(1)}/${rx.latency_ms.p95.toFixed(1)}/${rx.latency_ms.p99.toFixed(1)} ms, transport p50 ${rx.transport_latency_ms.p50.toFixed(1)} ms`);
    if (rx.sink) lines.push(`           display ${rx.sink.kind}: ${rx.sink.state}, shown ${rx.sink.shown}, decode ${rx.sink.decode_ms.toFixed(1)} ms`);
  }
  return lines.join('\n');
}

let previewsSet = false;
function setPreviews(s) {
  if (previewsSet) return;
  previewsSet = true;
  for (const dir of ['tx', 'rx']) {
    const on = s.previews.includes(dir);
    document.getElementById('fig-' + dir).classList.toggle('off', !on);
    if (on) document.getElementById('preview-' + dir).src = '/preview/' + dir + '.mjpeg';
  }
}

async function poll() {
  try {
    const [st, hist] = await Promise.all([
      fetch('/api/status').then(r => r.json()),
      fetch('/api/history?after=' + lastT).then(r => r.json()),
    ]);
    const el = document.getElementById('state');
    el.textContent = st.state;
    el.className = 'state ' + (st.state === 'streaming' ? 'streaming' : st.state === 'waiting' || st.state === 'peer-lost' ? 'waiting' : 'bad');
    document.getElementById('detail').textContent = st.state_detail || '';
    document.getElementById('status').textContent = statusText(st);
    if (st.tx.source) document.getElementById('cap-tx').textContent = `${st.tx.source.width}x${st.tx.source.height}, ${st.tx.fps.toFixed(1)} fps`;
    if (st.rx.enabled) document.getElementById('cap-rx').textContent = `${st.rx.fps.toFixed(1)} fps, latency p50 ${st.rx.latency_ms.p50.toFixed(1)} ms`;
    setPreviews(st);
    for (const s of hist) samples.push(s);
    if (hist.length) lastT = hist[hist.length - 1].t;
    while (samples.length && samples[0].t < lastT - spanMs) samples.shift();
  } catch (e) {
    document.getElementById('state').textContent = 'daemon not answering';
    document.getElementById('state').className = 'state bad';
  }
  for (const c of charts) drawChart(c);
}

poll();
setInterval(poll, 1000);
