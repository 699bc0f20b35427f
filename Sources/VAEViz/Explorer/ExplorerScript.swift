/// The explorer's script and style, as string resources (no external file, no network).
///
/// Page API (documented in the README):
///   window.swiftvae.decode(z[, k]) → Float32Array of C·H·W pixel means in [0, 1] (C×H×W order);
///                                synchronous; z is an array of `latent` numbers; k, for a
///                                conditional model, the class (default: the one chosen on the page, 0)
///   window.swiftvae.classes    → a conditional model's number of classes (0 otherwise)
///   window.swiftvae.latent     → the latent dimension
///   window.swiftvae.shape      → [C, H, W]
/// Opening the page as `report.html#selftest=<URL-encoded JSON array of z>` appends
/// `<pre id="swiftvae-selftest">` holding {"results": [decode(z)…], …} once the page has loaded
/// (the browser test reads it with `chromium --headless --dump-dom`).
enum ExplorerScript {
    static let js = "(function () {\n" + shared + body + "})();\n"

    /// What both explorers' scripts (images, sequences) start with, inside their own function
    /// scope: error capture, element, base64 and float-block helpers, the 2-D pad over the test items' latent
    /// means (`makePad`) and the `#selftest=` writer (`selfTest`).
    static let shared = #"""
  'use strict';
  var t0 = performance.now();
  var errors = [];
  window.addEventListener('error', function (e) { errors.push(String(e.message || e)); });
  function el(id) { return document.getElementById(id); }
  function bytes(id) {
    var bin = atob(el(id).textContent.replace(/\s+/g, ''));
    var n = bin.length, u = new Uint8Array(n);
    for (var i = 0; i < n; i++) u[i] = bin.charCodeAt(i);
    return u;
  }
  // A float32 block, to done(Float32Array): plain little-endian bytes, or (data-encoding
  // "\#(ExplorerData.packedEncoding)") the four byte planes zlib-compressed, inflated by the browser.
  function floats(id, done) {
    var e = el(id), u = bytes(id);
    if (e.getAttribute('data-encoding') !== '\#(ExplorerData.packedEncoding)') { done(new Float32Array(u.buffer)); return; }
    if (typeof DecompressionStream === 'undefined') { errors.push('swiftvae: this browser has no DecompressionStream to unpack the weights'); return; }
    new Response(new Blob([u]).stream().pipeThrough(new DecompressionStream('deflate'))).arrayBuffer().then(function (buf) {
      var p = new Uint8Array(buf), n = p.length >> 2, out = new Uint8Array(4 * n);
      for (var i = 0; i < n; i++) { out[4 * i] = p[i]; out[4 * i + 1] = p[n + i]; out[4 * i + 2] = p[2 * n + i]; out[4 * i + 3] = p[3 * n + i]; }
      done(new Float32Array(out.buffer));
    }).catch(function (err) { errors.push('swiftvae: ' + err); });
  }

  // The 2-D pad: the test items' latent means projected on two orthonormal axes (z₁, z₂, or the
  // first two principal directions), drawn once; the current z as a cross. Dragging and the arrow
  // keys move z within the pad's plane only (o.setZ), hovering finds the nearest item (o.onHover).
  // o: { canvas, K, N, origin, axes, mu(i), colour(i), getZ(), setZ(z), onHover(i) }
  // z₁, z₂, …, z₁₂: the index in subscript digits, as the pictures write it
  function sub(n) { return String(n).replace(/[0-9]/g, function (d) { return String.fromCharCode(0x2080 + +d); }); }
  function makePad(o) {
    var K = o.K, N = o.N, origin = o.origin, axes = o.axes, NA = axes.length;
    // pad coordinates of z: a_d = (z − origin)·axis_d
    function project(z) {
      var a = [0, 0];
      for (var d = 0; d < NA; d++) { var s = 0; for (var j = 0; j < K; j++) s += (z[j] - origin[j]) * axes[d][j]; a[d] = s; }
      return a;
    }
    // z + Σ_d (p_d − a_d(z))·axis_d: moves z within the pad's plane only (orthonormal axes)
    function moveTo(z, p) {
      var cur = project(z), out = z.slice();
      for (var d = 0; d < NA; d++) { var delta = p[d] - cur[d]; for (var j = 0; j < K; j++) out[j] += delta * axes[d][j]; }
      return out;
    }
    var pts = [];
    for (var i = 0; i < N; i++) pts.push(project(o.mu(i)));
    // the pad's range: the points' extent, at least ±2.5 (the prior's bulk; o.minRange instead when
    // given: a sequence model's means crowd near 0), padded by 8%
    var r0 = o.minRange != null ? o.minRange : 2.5;
    var lo = [-r0, -r0], hi = [r0, r0];
    pts.forEach(function (p) { for (var d = 0; d < 2; d++) { if (isFinite(p[d])) { lo[d] = Math.min(lo[d], p[d]); hi[d] = Math.max(hi[d], p[d]); } } });
    for (var d = 0; d < 2; d++) { var m = 0.08 * (hi[d] - lo[d]); lo[d] -= m; hi[d] += m; }
    var pad = o.canvas, S = pad.width;
    function toCanvas(p) { return [(p[0] - lo[0]) / (hi[0] - lo[0]) * S, (hi[1] - p[1]) / (hi[1] - lo[1]) * S]; }
    function fromEvent(ev) {
      var r = pad.getBoundingClientRect();
      var fx = (ev.clientX - r.left) / r.width, fy = (ev.clientY - r.top) / r.height;
      return [lo[0] + fx * (hi[0] - lo[0]), hi[1] - fy * (hi[1] - lo[1])];
    }
    // tick values per pad axis: multiples of a step of 1, 2 or 5 × 10^k, about six over the range
    function ticksOver(a, b) {
      var raw = (b - a) / 6, mag = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / mag;
      var step = (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag, out = [];
      for (var t = Math.ceil(a / step); t * step <= b; t++) out.push(t * step);
      return { step: step, values: out, digits: Math.max(0, -Math.floor(Math.log10(step) + 1e-9)) };
    }
    var ticks = [ticksOver(lo[0], hi[0]), NA > 1 ? ticksOver(lo[1], hi[1]) : { step: 0, values: [], digits: 0 }];
    // the scatter, drawn once; the boxes of the axis titles and of the tick values drawn (self-test)
    var titleBoxes = [], labelBoxes = [];
    var base = document.createElement('canvas');
    base.width = S; base.height = S;
    (function () {
      var c = base.getContext('2d');
      c.fillStyle = '#fff'; c.fillRect(0, 0, S, S);
      var z0 = toCanvas([0, 0]);
      // a light grid at the ticks, the axes through 0 darker
      c.strokeStyle = '#eef1f4'; c.lineWidth = 1;
      c.beginPath();
      ticks[0].values.forEach(function (v) { var x = toCanvas([v, 0])[0]; c.moveTo(x, 0); c.lineTo(x, S); });
      ticks[1].values.forEach(function (v) { var y = toCanvas([0, v])[1]; c.moveTo(0, y); c.lineTo(S, y); });
      c.stroke();
      c.strokeStyle = '#d0d7de';
      c.beginPath(); c.moveTo(0, z0[1]); c.lineTo(S, z0[1]); c.moveTo(z0[0], 0); c.lineTo(z0[0], S); c.stroke();
      c.globalAlpha = 0.75;
      for (var i = 0; i < N; i++) {
        var q = toCanvas(pts[i]);
        c.fillStyle = o.colour(i);
        c.beginPath(); c.arc(q[0], q[1], 3, 0, 2 * Math.PI); c.fill();
      }
      c.globalAlpha = 1;
      // the axis titles' boxes first: no tick value is drawn over them
      c.font = '20px sans-serif';
      var xn = (K > 2 ? 'principal direction 1' : 'z₁') + ' →', yn = (K > 2 ? 'principal direction 2' : 'z₂') + ' →';
      var xw = c.measureText(xn).width, yw = c.measureText(yn).width;
      titleBoxes = [[S - xw - 10, S - 30, S, S]];
      if (NA > 1) titleBoxes.push([0, 0, 28, 12 + yw]);
      function clear(b) { return titleBoxes.every(function (t) { return b[2] < t[0] || b[0] > t[2] || b[3] < t[1] || b[1] > t[3]; }); }
      // the tick values beside the axes through 0 (0 once, at the origin), on a white halo
      c.font = '16px sans-serif'; c.lineWidth = 3; c.strokeStyle = '#fff'; c.fillStyle = '#57606a';
      function label(text, x, y, align) {
        text = text.replace('-', '\u2212');
        var w = c.measureText(text).width, x0 = align === 'center' ? x - w / 2 : x, box = [x0 - 2, y - 14, x0 + w + 2, y + 4];
        if (!clear(box)) return;
        c.textAlign = align; c.strokeText(text, x, y); c.fillText(text, x, y);
        labelBoxes.push(box);
      }
      ticks[0].values.forEach(function (v) {
        var x = toCanvas([v, 0])[0];
        if (Math.abs(v) > ticks[0].step / 2 && x > 14 && x < S - 14) label(v.toFixed(ticks[0].digits), x, Math.min(z0[1] + 18, S - 4), 'center');
      });
      ticks[1].values.forEach(function (v) {
        var y = toCanvas([0, v])[1];
        if (Math.abs(v) > ticks[1].step / 2 && y > 14 && y < S - 14) label(v.toFixed(ticks[1].digits), Math.min(z0[0] + 4, S - 44), y + 6, 'left');
      });
      label('0', z0[0] + 4, Math.min(z0[1] + 18, S - 4), 'left');
      c.textAlign = 'left'; c.fillStyle = '#57606a'; c.font = '20px sans-serif';
      c.fillText(xn, S - xw - 8, S - 10);
      if (NA > 1) { c.save(); c.translate(22, 8 + yw); c.rotate(-Math.PI / 2); c.fillText(yn, 0, 0); c.restore(); }
    })();
    var hovered = -1;
    function draw() {
      var c = pad.getContext('2d');
      c.drawImage(base, 0, 0);
      if (hovered >= 0) {
        var hq = toCanvas(pts[hovered]);
        c.strokeStyle = '#000'; c.lineWidth = 2;
        c.beginPath(); c.arc(hq[0], hq[1], 7, 0, 2 * Math.PI); c.stroke();
      }
      var q = toCanvas(project(o.getZ()));
      c.lineWidth = 5; c.strokeStyle = '#fff';
      c.beginPath(); c.moveTo(q[0] - 11, q[1]); c.lineTo(q[0] + 11, q[1]); c.moveTo(q[0], q[1] - 11); c.lineTo(q[0], q[1] + 11); c.stroke();
      c.lineWidth = 2; c.strokeStyle = '#cf222e';
      c.beginPath(); c.moveTo(q[0] - 10, q[1]); c.lineTo(q[0] + 10, q[1]); c.moveTo(q[0], q[1] - 10); c.lineTo(q[0], q[1] + 10); c.stroke();
    }
    function nearest(ev) {
      var r = pad.getBoundingClientRect(), sx = S / r.width;
      var cx = (ev.clientX - r.left) * sx, cy = (ev.clientY - r.top) * sx, best = -1, bd = Math.pow(12 * sx, 2);
      for (var i = 0; i < N; i++) {
        var q = toCanvas(pts[i]), dd = (q[0] - cx) * (q[0] - cx) + (q[1] - cy) * (q[1] - cy);
        if (dd < bd) { bd = dd; best = i; }
      }
      return best;
    }
    var dragging = false;
    pad.addEventListener('pointerdown', function (ev) {
      dragging = true;
      // capture keeps the drag going outside the pad; best effort (an unknown pointer id throws)
      try { pad.setPointerCapture(ev.pointerId); } catch (e) { /* dragging still works inside the pad */ }
      o.setZ(moveTo(o.getZ(), fromEvent(ev))); o.onHover(nearest(ev));
      ev.preventDefault();
    });
    pad.addEventListener('pointermove', function (ev) {
      if (dragging) o.setZ(moveTo(o.getZ(), fromEvent(ev)));
      o.onHover(nearest(ev));
    });
    function stop() { dragging = false; }
    pad.addEventListener('pointerup', stop);
    pad.addEventListener('pointercancel', stop);
    pad.addEventListener('keydown', function (ev) {
      var step = ev.shiftKey ? 0.1 : 0.02, p = project(o.getZ());
      if (ev.key === 'ArrowLeft') p[0] -= step * (hi[0] - lo[0]);
      else if (ev.key === 'ArrowRight') p[0] += step * (hi[0] - lo[0]);
      else if (ev.key === 'ArrowUp' && NA > 1) p[1] += step * (hi[1] - lo[1]);
      else if (ev.key === 'ArrowDown' && NA > 1) p[1] -= step * (hi[1] - lo[1]);
      else return;
      o.setZ(moveTo(o.getZ(), p));
      ev.preventDefault();
    });
    // the pad as a reader drives it (for the self-tests): a right-arrow key, then a drag from
    // (0.25, 0.75) to (toX, toY) of its width and height; whether z followed each
    function exercise(toX, toY) {
      var r = {}, before = o.getZ().slice(), rect = pad.getBoundingClientRect();
      pad.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true }));
      r.keyMoves = project(o.getZ())[0] > project(before)[0] + 1e-9;
      var at = function (fx, fy) { return { clientX: rect.left + fx * rect.width, clientY: rect.top + fy * rect.height, pointerId: 1, bubbles: true }; };
      pad.dispatchEvent(new PointerEvent('pointerdown', at(0.25, 0.75)));
      pad.dispatchEvent(new PointerEvent('pointermove', at(toX, toY)));
      pad.dispatchEvent(new PointerEvent('pointerup', at(toX, toY)));
      var p = project(o.getZ());
      r.dragMoves = Math.abs(p[0] - (lo[0] + toX * (hi[0] - lo[0]))) < 1e-6 && (NA < 2 || Math.abs(p[1] - (hi[1] - toY * (hi[1] - lo[1]))) < 1e-6);
      // the pad's extent and the tick values drawn on each axis
      r.padRange = [lo.slice(), hi.slice()];
      r.ticks = [ticks[0].values, ticks[1].values];
      r.titleBoxes = titleBoxes; r.labelBoxes = labelBoxes;
      return r;
    }
    return { project: project, draw: draw, exercise: exercise,
             hovered: function () { return hovered; }, setHovered: function (i) { hovered = i; } };
  }

  // an item's place in the page's list from its id (the number the inputs show and take: an
  // image's index in its set, a sequence's line in its file; ids ascending): the id itself, else
  // the next one up, else the last
  function placeOf(ids, v) {
    v = Math.round(+v);
    if (!isFinite(v)) return 0;
    for (var i = 0; i < ids.length; i++) { if (ids[i] >= v) return i; }
    return Math.max(0, ids.length - 1);
  }

  // (1 − t)·a + t·b, a point on the line between two latent means
  function mix(a, b, t) {
    var z = new Array(a.length);
    for (var j = 0; j < a.length; j++) z[j] = (1 - t) * a[j] + t * b[j];
    return z;
  }

  // report.html#selftest=<URL-encoded JSON>: once the page has loaded, run(parsed JSON) and write
  // its result (with the script errors) into <pre id="swiftvae-selftest">
  function selfTest(run) {
    function go() {
      var h = location.hash;
      if (h.indexOf('#selftest=') !== 0) return;
      var res;
      try { res = run(JSON.parse(decodeURIComponent(h.slice(10)))); } catch (e) { res = { error: String(e) }; }
      res.errors = errors;
      var pre = document.createElement('pre');
      pre.id = 'swiftvae-selftest'; pre.hidden = true;
      pre.textContent = JSON.stringify(res);
      document.body.appendChild(pre);
    }
    // a script that waited for its weights may start after the page's load event
    if (document.readyState === 'complete') go(); else window.addEventListener('load', go);
  }

"""#

    /// The image explorer's own part.
    static let body = #"""
  var meta = JSON.parse(el('swiftvae-meta').textContent);
  var spec = meta.decoder;
  var W = new Float32Array(bytes('swiftvae-weights').buffer);
  var IMG = bytes('swiftvae-images');
  var MU = new Float32Array(bytes('swiftvae-mu').buffer);
  var K = spec.latent, C = spec.shape[0], H = spec.shape[1], WD = spec.shape[2], D = C * H * WD;
  if (W.length !== spec.weightCount) throw new Error('swiftvae: ' + W.length + ' weights, expected ' + spec.weightCount);

  // ---------------------------------------------------------------- the forward pass
  function prod(s) { return s.reduce(function (a, b) { return a * b; }, 1); }
  // per-example shape before and after each layer, computed once
  // decoder outputs per pixel value of each DecoderDescription.Output (its outputsPerValue)
  var PER_VALUE = { sigmoid: 1, identity: 1, sigmoid_of_first_half: 2, identity_of_first_half: 2, beta_binomial_halves: 2 };
  var plan = [], CW = 0, chosenClass = 0, menuClasses = [];
  (function () {
    var shape = [K];
    spec.layers.forEach(function (L) {
      var before = shape;
      if (L.op === 'dense') shape = [L.outputs];
      else if (L.op === 'reshape') shape = L.shape.slice();
      else if (L.op === 'flatten') shape = [prod(shape)];
      else if (L.op === 'concat_condition') { CW = L.inputs; shape = [prod(shape) + L.inputs]; }
      else if (L.op === 'conv_transpose2d') {
        // OH = (H − 1)·s − 2p + k + output_padding
        shape = [L.outputs,
                 (shape[1] - 1) * L.stride - 2 * L.padding + L.kernel + L.outputPadding,
                 (shape[2] - 1) * L.stride - 2 * L.padding + L.kernel + L.outputPadding];
      } else if (L.op !== 'activation') throw new Error('swiftvae: unknown layer ' + L.op);
      plan.push({ L: L, input: before, output: shape });
    });
    var per = PER_VALUE[spec.output];
    if (!per) throw new Error('swiftvae: unknown output ' + spec.output);
    if (prod(shape) !== per * D) throw new Error('swiftvae: the decoder ends in ' + shape + ', not ' + per + ' × ' + spec.shape);
  })();

  // y = W x + b with W [out, in]; then ReLU when fused
  function dense(x, L) {
    var n = L.inputs, m = L.outputs, y = new Float64Array(m);
    for (var o = 0; o < m; o++) {
      var s = W[L.biasOffset + o], r = L.weightOffset + o * n;
      for (var i = 0; i < n; i++) s += W[r + i] * x[i];
      y[o] = (L.relu && s < 0) ? 0 : s;
    }
    return y;
  }

  // y[oc, iy·s − p + ky, ix·s − p + kx] += x[ic, iy, ix] · W[ic, oc, ky, kx];  y += b[oc]; ReLU when fused
  function convTranspose(x, L, ins, outs) {
    var ci = ins[0], h = ins[1], w = ins[2], co = outs[0], oh = outs[1], ow = outs[2];
    var k = L.kernel, st = L.stride, p = L.padding, plane = oh * ow;
    var y = new Float64Array(co * plane);
    for (var c = 0; c < ci; c++) for (var iy = 0; iy < h; iy++) for (var ix = 0; ix < w; ix++) {
      var v = x[(c * h + iy) * w + ix];
      if (v === 0) continue;
      for (var o = 0; o < co; o++) {
        var wb = L.weightOffset + (c * co + o) * k * k, yb = o * plane;
        for (var ky = 0; ky < k; ky++) {
          var oy = iy * st - p + ky;
          if (oy < 0 || oy >= oh) continue;
          for (var kx = 0; kx < k; kx++) {
            var ox = ix * st - p + kx;
            if (ox < 0 || ox >= ow) continue;
            y[yb + oy * ow + ox] += v * W[wb + ky * k + kx];
          }
        }
      }
    }
    for (var q = 0; q < co; q++) {
      var bv = W[L.biasOffset + q];
      for (var j = q * plane, e = j + plane; j < e; j++) { var t = y[j] + bv; y[j] = (L.relu && t < 0) ? 0 : t; }
    }
    return y;
  }

  function activation(x, L) {
    var n = x.length, i;
    if (L.kind === 'relu') { for (i = 0; i < n; i++) if (x[i] < 0) x[i] = 0; }
    else if (L.kind === 'leaky_relu') { for (i = 0; i < n; i++) if (x[i] < 0) x[i] *= L.slope; }
    else if (L.kind === 'sigmoid') { for (i = 0; i < n; i++) x[i] = 1 / (1 + Math.exp(-x[i])); }
    else if (L.kind === 'tanh') { for (i = 0; i < n; i++) x[i] = Math.tanh(x[i]); }
    else throw new Error('swiftvae: unknown activation ' + L.kind);
    return x;
  }

  // The ONE place where the decoder's last output becomes pixel means (DecoderDescription.Output).
  // Paired outputs are [first (D) | second (D)].
  function outputMean(y) {
    var out = new Float32Array(D), i;
    function clamp7(v) { return Math.min(7, Math.max(-7, v)); }
    if (spec.output === 'sigmoid' || spec.output === 'sigmoid_of_first_half') { for (i = 0; i < D; i++) out[i] = 1 / (1 + Math.exp(-y[i])); }
    else if (spec.output === 'identity' || spec.output === 'identity_of_first_half') { for (i = 0; i < D; i++) out[i] = Math.min(1, Math.max(0, y[i])); }
    else if (spec.output === 'beta_binomial_halves') { for (i = 0; i < D; i++) out[i] = 1 / (1 + Math.exp(clamp7(y[D + i]) - clamp7(y[i]))); }
    else throw new Error('swiftvae: unknown output ' + spec.output);
    return out;
  }

  // [x | one-hot of class k]
  function concatCondition(x, L, k) {
    var y = new Float64Array(x.length + L.inputs);
    y.set(x);
    if (k >= 0 && k < L.inputs) y[x.length + k] = 1;
    return y;
  }

  function decode(z, k) {
    if (!z || z.length !== K) throw new Error('swiftvae.decode: z needs ' + K + ' numbers');
    for (var q = 0; q < K; q++) {
      if (typeof z[q] !== 'number' || !isFinite(z[q])) throw new Error('swiftvae.decode: z[' + q + '] is ' + (typeof z[q] === 'string' ? JSON.stringify(z[q]) + ' (a string)' : String(z[q])) + ', not a finite number');
    }
    if (k !== undefined && CW === 0) throw new Error('swiftvae.decode: this model is not conditional: call decode(z)');
    if (k !== undefined && !(typeof k === 'number' && Number.isInteger(k))) throw new Error('swiftvae.decode: the class is a whole number 0…' + (CW - 1) + ', not ' + String(k));
    var cls = k === undefined ? chosenClass : k;
    if (CW > 0 && !(cls >= 0 && cls < CW)) throw new Error('swiftvae.decode: the class is 0…' + (CW - 1));
    // a class the run never trained on (vae train --classes): its condition was never seen, as the command line says
    if (CW > 0 && menuClasses.length && menuClasses.indexOf(cls) < 0) throw new Error('swiftvae.decode: class ' + cls + ' was not trained: the run trained on classes ' + menuClasses.join(', ') + ' only');
    var x = new Float64Array(K);
    for (var i = 0; i < K; i++) x[i] = +z[i];
    for (var j = 0; j < plan.length; j++) {
      var P = plan[j], L = P.L;
      if (L.op === 'dense') x = dense(x, L);
      else if (L.op === 'concat_condition') x = concatCondition(x, L, cls);
      else if (L.op === 'conv_transpose2d') x = convTranspose(x, L, P.input, P.output);
      else if (L.op === 'activation') x = activation(x, L);
    }
    return outputMean(x);
  }

  function muOf(i) { return Array.prototype.slice.call(MU, i * K, (i + 1) * K); }
  function imageOf(i) {
    var f = new Float32Array(D);
    for (var j = 0; j < D; j++) f[j] = IMG[i * D + j] / 255;
    return f;
  }

  // the classes a conditional model was trained on (all when not restricted): the menu's, the first chosen
  menuClasses = (meta.trainedClasses || []).filter(function (c) { return c >= 0 && c < CW; });
  if (!menuClasses.length) for (var mc = 0; mc < CW; mc++) menuClasses.push(mc);
  if (CW > 0) chosenClass = menuClasses[0];
  var api = { decode: decode, latent: K, classes: CW, trainedClasses: menuClasses.slice(), shape: [C, H, WD], count: meta.count, mu: muOf, image: imageOf, errors: errors };
  window.swiftvae = api;

  // ---------------------------------------------------------------- the explorer
  function setupExplorer() {
    var N = meta.count, labels = meta.labels, names = meta.classNames;
    var origin = meta.padOrigin, axes = meta.padAxes;
    var palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
    function colour(i) { return labels.length ? palette[labels[i] % 10] : palette[0]; }
    function fmt(v) { return (v >= 0 ? '+' : '−') + Math.abs(v).toFixed(2); }
    var ids = meta.testIndices;
    function posOf(v) { return placeOf(ids, v); }
    function describe(i) {
      var s = 'test image ' + meta.testIndices[i];
      if (labels.length) s += ' · ' + (labels[i] < names.length ? names[labels[i]] : 'label ' + labels[i]);
      return s;
    }

    // pixels (C×H×W in [0, 1]) into a canvas of the image's own size; CSS scales it up
    function paint(canvas, px) {
      canvas.width = WD; canvas.height = H;
      var ctx = canvas.getContext('2d'), im = ctx.createImageData(WD, H), d = im.data, plane = H * WD;
      for (var p = 0; p < plane; p++) {
        var r = px[p], g = C === 3 ? px[plane + p] : r, b = C === 3 ? px[2 * plane + p] : r;
        d[4 * p] = Math.round(255 * Math.min(1, Math.max(0, r)));
        d[4 * p + 1] = Math.round(255 * Math.min(1, Math.max(0, g)));
        d[4 * p + 2] = Math.round(255 * Math.min(1, Math.max(0, b)));
        d[4 * p + 3] = 255;
      }
      ctx.putImageData(im, 0, 0);
    }

    var z = N > 0 ? muOf(Math.min(meta.start, N - 1)) : new Array(K).fill(0);
    var pad = el('vx-pad'), out = el('vx-out'), hx = el('vx-hx'), hr = el('vx-hr');
    var padCtl = makePad({ canvas: pad, K: K, N: N, origin: origin, axes: axes, mu: muOf, colour: colour,
                           getZ: function () { return z; },
                           setZ: function (nz) { z = nz; syncSliders(); schedule(); },
                           onHover: function (i) { showHover(i); } });

    // sliders, one per dimension (the first 64 when there are more)
    var box = el('vx-sliders'), sliders = [], outputs = [], SL = Math.min(K, 64);
    var lim = 4;
    for (var i = 0; i < MU.length; i++) if (isFinite(MU[i])) lim = Math.max(lim, Math.ceil(Math.abs(MU[i])));
    for (var j = 0; j < SL; j++) {
      var lab = document.createElement('label');
      var name = document.createElement('span'); name.textContent = 'z' + sub(j + 1);
      var inp = document.createElement('input');
      inp.type = 'range'; inp.min = -lim; inp.max = lim; inp.step = 0.01;
      inp.setAttribute('aria-label', 'latent dimension ' + (j + 1));
      var o = document.createElement('output');
      inp.addEventListener('input', (function (j) { return function () { z[j] = +this.value; outputs[j].textContent = fmt(z[j]); schedule(); }; })(j));
      lab.appendChild(name); lab.appendChild(inp); lab.appendChild(o); box.appendChild(lab);
      sliders.push(inp); outputs.push(o);
    }
    if (K > SL) { var note = document.createElement('p'); note.textContent = 'The first ' + SL + ' of ' + K + ' dimensions have sliders; the pad moves all of them.'; box.appendChild(note); }
    function syncSliders() { for (var j = 0; j < SL; j++) { sliders[j].value = z[j]; outputs[j].textContent = fmt(z[j]); } }

    var zline = el('vx-z');
    function render() {
      pending = false;
      paint(out, decode(z));
      padCtl.draw();
      zline.textContent = 'z = (' + z.slice(0, 8).map(function (v) { return v.toFixed(2); }).join(', ') + (K > 8 ? ', …' : '') + ')';
    }
    var pending = false;
    function schedule() { if (!pending) { pending = true; requestAnimationFrame(render); } }

    // a conditional model's class: a menu above the sliders; a test image's reconstruction uses its own label
    function ownClass(i) { return CW > 0 && labels.length && labels[i] < CW ? labels[i] : undefined; }
    if (CW > 0) {
      var cp = document.createElement('p'), cl = document.createElement('label'), sel = document.createElement('select');
      sel.id = 'vx-class';
      menuClasses.forEach(function (ci) {
        var opt = document.createElement('option');
        opt.value = ci; opt.textContent = ci < names.length ? names[ci] : 'class ' + ci;
        sel.appendChild(opt);
      });
      // the page opens on the start image: decoded as its own class when the menu has it
      var own0 = N > 0 ? ownClass(Math.min(meta.start, N - 1)) : undefined;
      if (own0 !== undefined && menuClasses.indexOf(own0) >= 0) { chosenClass = own0; sel.value = own0; }
      sel.addEventListener('change', function () { chosenClass = +sel.value; schedule(); interpolate(); });
      cl.appendChild(document.createTextNode('Decode as class ')); cl.appendChild(sel); cp.appendChild(cl);
      box.parentNode.insertBefore(cp, box.previousElementSibling);
    }

    function showHover(i) {
      if (i === padCtl.hovered() || i < 0) return;
      padCtl.setHovered(i);
      paint(hx, imageOf(i));
      paint(hr, decode(muOf(i), ownClass(i)));
      el('vx-hxcap').textContent = describe(i);
      schedule();
    }
    var start = el('vx-start');
    start.addEventListener('change', function () {
      if (N === 0) return;
      var i = posOf(start.value); start.value = ids[i];
      // as when the page opens: a conditional model decodes the start image as its own class
      var own = ownClass(i), menu = el('vx-class');
      if (menu && own !== undefined && menuClasses.indexOf(own) >= 0) { chosenClass = own; menu.value = own; interpolate(); }
      z = muOf(i); syncSliders(); showHover(i); schedule();
    });

    // legend of the classes shown
    var legend = el('vx-legend'), seen = {};
    labels.forEach(function (l) { seen[l] = true; });
    Object.keys(seen).map(Number).sort(function (a, b) { return a - b; }).forEach(function (l) {
      var li = document.createElement('li'), sw = document.createElement('span');
      sw.className = 'vx-sw'; sw.style.background = palette[l % 10];
      li.appendChild(sw); li.appendChild(document.createTextNode(l < names.length ? names[l] : 'label ' + l));
      legend.appendChild(li);
    });

    // interpolation between two test images' latent means
    var ia = el('vx-ia'), ib = el('vx-ib'), tr = el('vx-t'), tv = el('vx-tv');
    function interpolate() {
      if (N === 0) return;
      var a = posOf(ia.value), b = posOf(ib.value), t = +tr.value;
      paint(el('vx-a'), imageOf(a)); paint(el('vx-b'), imageOf(b)); paint(el('vx-mid'), decode(mix(muOf(a), muOf(b), t)));
      el('vx-acap').textContent = describe(a); el('vx-bcap').textContent = describe(b);
      tv.textContent = t.toFixed(2);
    }
    [ia, ib].forEach(function (e) { e.addEventListener('change', function () { e.value = ids[posOf(e.value)]; interpolate(); }); });
    tr.addEventListener('input', interpolate);

    syncSliders();
    if (N > 0) showHover(Math.min(meta.start, N - 1));
    interpolate();
    render();

    // drives the controls as a reader would and reports what changed (for the self-test)
    api.exerciseUI = function () {
      var r = padCtl.exercise(0.75, 0.25);
      sliders[0].value = 1.25; sliders[0].dispatchEvent(new Event('input', { bubbles: true }));
      r.sliderSets = Math.abs(z[0] - 1.25) < 1e-9;
      render();
      // the painted canvas is decode(z) in 8 bits
      var img = out.getContext('2d').getImageData(0, 0, WD, H).data, px = decode(z), worst = 0;
      for (var q = 0; q < H * WD; q++) worst = Math.max(worst, Math.abs(img[4 * q] - Math.round(255 * px[q])));
      r.paintedMatches = worst <= 1;
      tr.value = 1; tr.dispatchEvent(new Event('input', { bubbles: true }));
      r.interpolationLabel = tv.textContent;
      r.hoverCaption = el('vx-hxcap').textContent;
      r.menuClasses = menuClasses.slice();
      r.openedClass = chosenClass;
      if (menuClasses.length > 1) {
        // the class menu redraws the pad's picture as the chosen class (another than the one open)
        var menu = el('vx-class'), zc = z.slice(), before = chosenClass;
        var c1 = menuClasses[0] === before ? menuClasses[1] : menuClasses[0];
        menu.value = c1; menu.dispatchEvent(new Event('change', { bubbles: true }));
        render();
        var img1 = out.getContext('2d').getImageData(0, 0, WD, H).data, want = decode(zc, c1), bad = 0;
        for (var u = 0; u < H * WD; u++) bad = Math.max(bad, Math.abs(img1[4 * u] - Math.round(255 * want[u])));
        r.classMenu = bad <= 1 && chosenClass === c1;
        menu.value = before; menu.dispatchEvent(new Event('change', { bubbles: true }));
        // a start image typed in: decoded as its own class, as when the page opens
        var other = -1;
        for (var ii = 0; ii < N && other < 0; ii++) { if (ownClass(ii) !== undefined && ownClass(ii) !== chosenClass && menuClasses.indexOf(ownClass(ii)) >= 0) other = ii; }
        if (other >= 0) {
          start.value = ids[other]; start.dispatchEvent(new Event('change', { bubbles: true }));   // (the input takes ids)
          r.startSetsClass = chosenClass === ownClass(other) && +menu.value === ownClass(other);
        }
      }
      // the page API refuses what it cannot decode (it returned NaN pixels, or decoded null as 0)
      var refuses = function (f) { try { f(); return false; } catch (e) { return /^Error: swiftvae\.decode: /.test(String(e)); } };
      var zNaN = z.slice(); zNaN[0] = NaN;
      var zNull = z.slice(); zNull[K - 1] = null;
      var zText = z.slice(); zText[0] = '1';
      var saysText = function () { try { decode(zText); return false; } catch (e) { return String(e).indexOf('z[0] is "1" (a string)') >= 0; } };
      r.apiRefuses = refuses(function () { decode(zNaN); }) && refuses(function () { decode(zNull); }) && saysText()
        && refuses(function () { decode(z, CW > 0 ? 0.5 : 0); }) && (CW === 0 || refuses(function () { decode(z, CW); }))
        && (menuClasses.length === CW || refuses(function () { for (var u = 0; u < CW; u++) if (menuClasses.indexOf(u) < 0) decode(z, u); }));
      return r;
    };
  }

  try { setupExplorer(); } catch (e) { errors.push('explorer: ' + e); }
  api.readyMs = performance.now() - t0;

  // report.html#selftest=<URL-encoded JSON array of z>: decode them and write the results into the page
  selfTest(function (zs) {
    var res = { latent: K, classes: CW, shape: [C, H, WD], readyMs: api.readyMs, loadMs: performance.now(),
                sliders: document.querySelectorAll('#vx-sliders input').length,
                results: zs.map(function (z) { return Array.prototype.slice.call(decode(z)); }) };
    res.ui = api.exerciseUI ? api.exerciseUI() : null;
    return res;
  });
"""#

    static let css = """
    .vx-grid { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; }
    .vx-padbox { flex: 1 1 300px; max-width: 520px; }
    #vx-pad { display: block; width: 100%; height: auto; aspect-ratio: 1; touch-action: none; cursor: crosshair;
      border: 1px solid #d0d7de; border-radius: 6px; }
    #vx-pad:focus-visible, .vx input:focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
    .vx-hint { color: #57606a; font-size: 13px; margin-top: 6px; }
    .vx-legend { list-style: none; padding: 0; margin: 4px 0 0; display: flex; flex-wrap: wrap; gap: 2px 14px; font-size: 13px; }
    .vx-sw { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 5px; }
    .vx-side { flex: 1 1 260px; }
    .vx figure { display: inline-block; margin: 0 12px 8px 0; vertical-align: top; }
    canvas.vx-img { display: block; width: 112px; height: auto; image-rendering: pixelated; border: 1px solid #d0d7de; background: #000; }
    canvas.vx-big { width: 224px; }
    .vx-z { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; color: #57606a; overflow-wrap: anywhere; }
    .vx h3 { font-size: 15px; margin: 16px 0 8px; }
    .vx-sliders { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: 2px 20px; }
    .vx-sliders label, .vx-tl { display: flex; align-items: center; gap: 8px; font-size: 13px; }
    .vx-sliders label span { width: 2.6em; color: #57606a; }
    .vx-sliders input[type=range], .vx-tl input { flex: 1; min-width: 0; }
    .vx-tl { max-width: 520px; }
    .vx output { width: 3.6em; text-align: right; font-variant-numeric: tabular-nums; font-size: 13px; }
    .vx input[type=number] { width: 6em; font: inherit; }

    """
}
