// The attribution treemap (report/treemap.rs builds the data): a squarified
// layout of the JSON tree in each .tm container, nested crate -> module ->
// item. Click a group to zoom into it, a crumb to zoom back out; the search
// box highlights matching items and sums their bytes; the checkbox (when the
// run has a base) colours cells by growth against it. No network, no
// dependencies: the page works from a file:// URL.
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var PALETTE = ["#8ecae6", "#ffb703", "#90be6d", "#f28482", "#b8b8ff", "#ffd6a5", "#cdb4db", "#a8dadc", "#e9c46a", "#84a59d"];
  var HEAD = 15; // height of a group's header band, px
  var CHAR = 6.2; // approximate width of one 11px character, px

  function kib(b) { return b >= 1024 ? (b / 1024).toFixed(1) + " KiB" : b + " B"; }
  function signed(d) { return (d > 0 ? "+" : "") + d + " B"; }

  // Squarified treemap (Bruls, Huizing and van Wijk, 2000): fill rows along
  // the shorter side, adding items (largest first) while the row's worst
  // aspect ratio improves.
  function squarify(nodes, x, y, w, h) {
    var out = [];
    var items = nodes.filter(function (n) { return n.b > 0; });
    var total = items.reduce(function (s, n) { return s + n.b; }, 0);
    if (!total || w <= 0 || h <= 0) return out;
    var scale = (w * h) / total;
    var i = 0;
    while (i < items.length) {
      var side = Math.min(w, h), row = [], sum = 0, best = Infinity;
      while (i < items.length) {
        var a = items[i].b * scale, s = sum + a;
        var big = row.length ? row[0].b * scale : a;
        var worst = Math.max((side * side * big) / (s * s), (s * s) / (side * side * a));
        if (row.length && worst > best) break;
        row.push(items[i]);
        sum = s;
        best = worst;
        i++;
      }
      var thick = sum / side, off = 0;
      for (var j = 0; j < row.length; j++) {
        var len = (row[j].b * scale) / thick;
        if (w >= h) out.push({ node: row[j], x: x, y: y + off, w: thick, h: len });
        else out.push({ node: row[j], x: x + off, y: y, w: len, h: thick });
        off += len;
      }
      if (w >= h) { x += thick; w -= thick; } else { y += thick; h -= thick; }
    }
    return out;
  }

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  function link(node, parent) {
    node._parent = parent;
    (node.c || []).forEach(function (c) { link(c, node); });
  }

  function pathOf(node) {
    var p = [];
    for (var n = node; n && n._parent; n = n._parent) p.unshift(n.n);
    return p.join(" / ");
  }

  function fill(st, node, top) {
    if (st.diff) {
      var d = node.d || 0;
      if (!d) return "#e4e4e4";
      var old = node.b - d;
      var share = Math.min(1, Math.abs(d) / Math.max(node.b, old, 1));
      var light = 82 - 42 * Math.sqrt(share);
      return d > 0 ? "hsl(0,70%," + light + "%)" : "hsl(130,45%," + light + "%)";
    }
    return PALETTE[top % PALETTE.length];
  }

  // A label clipped to the cell: the name's tail (the informative end of a
  // Rust path), or nothing when fewer than four characters fit.
  function label(g, text, x, y, w, bold, head) {
    var max = Math.floor((w - 4) / CHAR);
    if (max < 4) return;
    var t = text.length <= max ? text : head ? text.slice(0, max - 1) + "\u2026" : "\u2026" + text.slice(text.length - max + 1);
    var e = el("text", { x: x, y: y, "pointer-events": "none" }, g);
    if (bold) e.setAttribute("font-weight", "bold");
    e.textContent = t;
  }

  // A group's header: its name (head first: crate and module names are
  // short), then its size when both fit.
  function header(g, n, x, y, w) {
    var max = Math.floor((w - 4) / CHAR), size = " " + kib(n.b);
    if (max < 4) return;
    var t = n.n.length + size.length <= max ? n.n + size : n.n.length <= max ? n.n : n.n.slice(0, max - 1) + "\u2026";
    var e = el("text", { x: x, y: y, "pointer-events": "none", "font-weight": "bold" }, g);
    e.textContent = t;
  }

  function draw(st, svg, node, x, y, w, h, depth, top) {
    squarify(node.c || [], x, y, w, h).forEach(function (cell, k) {
      var n = cell.node, ti = depth === 0 ? k : top;
      var g = el("g", {}, svg);
      var group = n.c && n.c.length;
      var r = el("rect", {
        x: cell.x.toFixed(1), y: cell.y.toFixed(1), width: Math.max(cell.w, 0).toFixed(1), height: Math.max(cell.h, 0).toFixed(1),
        fill: fill(st, n, ti), stroke: group ? "#555" : "#fff", "stroke-width": group ? 1 : 0.5
      }, g);
      r.classList.add(group ? "tm-group" : "tm-item");
      r._node = n;
      st.rects.push(r);
      var title = el("title", {}, r);
      title.textContent = pathOf(n) + " \u2014 " + n.b + " bytes" + (n.d !== undefined ? " (" + signed(n.d) + " against the base)" : "");
      r.addEventListener("click", function (ev) {
        ev.stopPropagation();
        var target = group ? n : n._parent;
        if (target && target !== st.root) zoom(st, target);
        else if (!group && n._parent === st.root && st.root._parent) zoom(st, st.root._parent);
      });
      if (group && cell.w > 30 && cell.h > HEAD + 8 && depth < 2) {
        header(g, n, cell.x + 3, cell.y + 11, cell.w - 6);
        draw(st, svg, n, cell.x + 1, cell.y + HEAD, cell.w - 2, cell.h - HEAD - 1, depth + 1, ti);
      } else if (cell.h >= 13) {
        label(g, n.n, cell.x + 3, cell.y + 11, cell.w - 6, group);
        if (cell.h >= 26) label(g, kib(n.b) + (st.diff && n.d ? " " + signed(n.d) : ""), cell.x + 3, cell.y + 23, cell.w - 6, false, true);
      }
    });
  }

  function matches(n, q) {
    for (var m = n; m; m = m._parent) if (m._parent && m.n.toLowerCase().indexOf(q) >= 0) return true;
    return false;
  }

  function leaves(n, out) {
    if (!n.c || !n.c.length) out.push(n);
    else n.c.forEach(function (c) { leaves(c, out); });
    return out;
  }

  function search(st) {
    var q = st.box.value.trim().toLowerCase();
    st.rects.forEach(function (r) {
      var hit = q && matches(r._node, q);
      r.classList.toggle("tm-hit", !!hit);
      r.style.opacity = q && !hit && r.classList.contains("tm-item") ? "0.25" : "";
    });
    if (!q) { st.found.textContent = ""; return; }
    var hits = leaves(st.tree, []).filter(function (l) { return matches(l, q); });
    var bytes = hits.reduce(function (s, l) { return s + l.b; }, 0);
    st.found.textContent = hits.length + " items, " + kib(bytes) + " (" + (100 * bytes / Math.max(st.tree.b, 1)).toFixed(1) + " % of the file)";
  }

  function zoom(st, node) {
    st.root = node;
    st.svg.textContent = "";
    st.rects = [];
    el("rect", { width: st.w, height: st.h, fill: "#fafafa" }, st.svg);
    draw(st, st.svg, node, 0, 0, st.w, st.h, 0, 0);
    st.crumbs.textContent = "";
    var chain = [];
    for (var n = node; n; n = n._parent) chain.unshift(n);
    chain.forEach(function (c, i) {
      var a = document.createElement(i === chain.length - 1 ? "b" : "a");
      a.textContent = (i ? c.n : "all") + " (" + kib(c.b) + ")";
      if (i < chain.length - 1) { a.href = "#"; a.addEventListener("click", function (ev) { ev.preventDefault(); zoom(st, c); }); }
      if (i) st.crumbs.appendChild(document.createTextNode(" \u203a "));
      st.crumbs.appendChild(a);
    });
    search(st);
  }

  document.querySelectorAll(".tm").forEach(function (tm) {
    var tree = JSON.parse(tm.querySelector(".tm-data").textContent);
    link(tree, null);
    var w = Math.min(+tm.dataset.width, Math.max(tm.clientWidth, 320)), h = +tm.dataset.height;
    var svg = el("svg", { width: w, height: h, role: "img", "aria-label": "treemap " + tree.n }, tm.querySelector(".tm-svg"));
    svg.classList.add("treemap");
    var st = { tree: tree, root: tree, svg: svg, w: w, h: h, rects: [], diff: false,
      box: tm.querySelector(".tm-search"), found: tm.querySelector(".tm-found"), crumbs: tm.querySelector(".tm-crumbs") };
    st.box.addEventListener("input", function () { search(st); });
    var toggle = tm.querySelector(".tm-diff");
    if (toggle) toggle.addEventListener("change", function () { st.diff = toggle.checked; zoom(st, st.root); });
    zoom(st, tree);
  });
})();
