/* Reports (报表): draws report results with Apache ECharts (vendor/echarts), and the report
   designer's dragging (SortableJS, vendored; only where the designer is).

   Charts: every element [data-report-chart] (templates/reports/_chart.html) that holds a
   <script type="application/json" class="report-data"> is drawn into its .report-canvas, on
   load and after each htmx swap; charts resize with the window. The JSON is
   {chart_type, columns: [{key, role, bucket, label, kind | aggregate}], rows, labels:
   {dimension: {value: label}}, drill: [one URL per row] or null, locale, none}, and for a
   map {key, tiles: [{code, x, y, name}]}: China's provinces as equal squares on a grid
   (web/report_views/tiles.py), coloured by the first measure. Clicking a bar, point, slice
   or square opens its row's drill URL (the records it counts). Tables, pivots and number
   cards are HTML already; a number card of one ratio also gets a gauge.

   No inline script or style: the page's Content-Security-Policy forbids them (ECharts sets
   styles through the DOM, which the policy allows). */
(function () {
  "use strict";

  var drawn = [];

  function number(value) {
    if (value === null || value === undefined || value === "") return null;
    var found = parseFloat(value);
    return isNaN(found) ? null : found;
  }

  function labelOf(data, key, value) {
    if (value === null || value === undefined) return data.none || "–";
    var labels = (data.labels || {})[key] || {};
    var text = labels[String(value)];
    return text === undefined ? String(value) : text;
  }

  function rowLabel(data, dimensions, row) {
    if (!dimensions.length) return "";
    return dimensions.map(function (c) { return labelOf(data, c.key, row[c.key]); }).join(" · ");
  }

  function point(value, index) {
    return { value: number(value), rowIndex: index };
  }

  function formatter(measure) {
    return function (value) {
      if (value === null || value === undefined) return "–";
      if (measure && measure.aggregate === "ratio") return (value * 100).toFixed(2) + "%";
      return String(value);
    };
  }

  // Line, bar and stacked bar: the first dimension along the axis; a second dimension
  // splits the first measure into one series per value; otherwise one series per measure.
  function cartesian(data, dimensions, measures) {
    var type = data.chart_type === "line" ? "line" : "bar";
    var stacked = data.chart_type === "stacked_bar";
    var first = dimensions[0];
    var categories = [];
    var positions = {};
    data.rows.forEach(function (row) {
      var name = first ? labelOf(data, first.key, row[first.key]) : measures[0].label;
      if (!(name in positions)) {
        positions[name] = categories.length;
        categories.push(name);
      }
    });
    var series = [];
    if (dimensions.length >= 2) {
      var second = dimensions[1];
      var byValue = {};
      data.rows.forEach(function (row, index) {
        var name = labelOf(data, second.key, row[second.key]);
        if (!byValue[name]) {
          byValue[name] = { name: name, type: type, data: categories.map(function () { return null; }) };
          if (stacked) byValue[name].stack = "total";
          series.push(byValue[name]);
        }
        var at = positions[labelOf(data, first.key, row[first.key])];
        byValue[name].data[at] = point(row[measures[0].key], index);
      });
    } else {
      measures.forEach(function (measure) {
        var item = { name: measure.label, type: type, data: categories.map(function () { return null; }) };
        if (stacked) item.stack = "total";
        data.rows.forEach(function (row, index) {
          var at = first ? positions[labelOf(data, first.key, row[first.key])] : 0;
          item.data[at] = point(row[measure.key], index);
        });
        series.push(item);
      });
    }
    var ratio = measures.length === 1 || dimensions.length >= 2 ? measures[0] : null;
    return {
      tooltip: { trigger: "axis", renderMode: "richText", valueFormatter: formatter(ratio) },
      legend: { type: "scroll", top: 0 },
      grid: { left: 8, right: 16, bottom: 8, top: 40, containLabel: true },
      xAxis: { type: "category", data: categories, name: first ? first.label : "" },
      yAxis: {
        type: "value",
        axisLabel: ratio && ratio.aggregate === "ratio" ? { formatter: formatter(ratio) } : {}
      },
      series: series
    };
  }

  // Pie and funnel: one slice per row, the first measure.
  function slices(data, dimensions, measures) {
    var measure = measures[0];
    var items = data.rows.map(function (row, index) {
      var item = point(row[measure.key], index);
      item.name = rowLabel(data, dimensions, row) || measure.label;
      return item;
    });
    var series = { name: measure.label, type: data.chart_type, data: items };
    if (data.chart_type === "pie") {
      series.radius = ["30%", "65%"];
    } else {
      series.left = "10%";
      series.width = "80%";
      series.label = { show: true, position: "inside" };
    }
    return {
      tooltip: { trigger: "item", renderMode: "richText", valueFormatter: formatter(measure) },
      legend: { type: "scroll", top: 0 },
      series: [series]
    };
  }

  function gauge(data, measures) {
    var measure = measures[0];
    var value = number(data.rows[0][measure.key]);
    return {
      series: [{
        type: "gauge",
        min: 0,
        max: 100,
        progress: { show: true },
        detail: { valueAnimation: false, formatter: "{value}%" },
        title: { show: true },
        data: [{ value: value === null ? 0 : Math.round(value * 10000) / 100, name: measure.label, rowIndex: 0 }]
      }]
    };
  }

  // The tile map: two heatmaps over one grid of squares, one square per province: grey for
  // the provinces without a value (no scale of their own), coloured by the scale for the rest.
  function tileMap(data, measures) {
    var measure = measures[0];
    var show = formatter(measure);
    var byCode = {};
    data.rows.forEach(function (row, index) { byCode[String(row[data.map.key])] = index; });
    var columns = 0, rows = 0, low = null, high = null;
    var empty = [], valued = [];
    data.map.tiles.forEach(function (tile) {
      columns = Math.max(columns, tile.x + 1);
      rows = Math.max(rows, tile.y + 1);
      var index = byCode[tile.code];
      var value = index === undefined ? null : number(data.rows[index][measure.key]);
      if (value === null) {
        empty.push({ name: tile.name, value: [tile.x, tile.y, 0] });
        return;
      }
      low = low === null ? value : Math.min(low, value);
      high = high === null ? value : Math.max(high, value);
      valued.push({ name: tile.name, value: [tile.x, tile.y, value], rowIndex: index });
    });
    if (low === null) { low = 0; high = 1; }
    if (high === low) high = low + 1;
    function range(count) {
      var found = [];
      for (var i = 0; i < count; i++) found.push(i);
      return found;
    }
    var label = {
      show: true,
      formatter: function (params) { return params.name; },
      color: "#111827",
      textBorderColor: "#ffffff",
      textBorderWidth: 2
    };
    return {
      tooltip: {
        trigger: "item",
        renderMode: "richText",
        formatter: function (params) {
          var text = params.seriesIndex === 0 ? (data.none || "–") : show(params.data.value[2]);
          return params.name + " · " + measure.label + ": " + text;
        }
      },
      grid: { left: 4, right: 4, top: 4, bottom: 56 },
      xAxis: { type: "category", data: range(columns), show: false },
      yAxis: { type: "category", data: range(rows), inverse: true, show: false },
      visualMap: {
        seriesIndex: 1,
        min: low,
        max: high,
        calculable: true,
        orient: "horizontal",
        left: "center",
        bottom: 0,
        formatter: function (value) { return show(value); },
        inRange: { color: ["#fde68a", "#f59e0b", "#b91c1c"] }
      },
      series: [
        {
          name: measure.label,
          type: "heatmap",
          data: empty,
          itemStyle: { color: "#e5e7eb", borderColor: "#ffffff", borderWidth: 3 },
          label: label
        },
        {
          name: measure.label,
          type: "heatmap",
          data: valued,
          itemStyle: { borderColor: "#ffffff", borderWidth: 3 },
          label: label
        }
      ]
    };
  }

  function optionFor(data) {
    var dimensions = data.columns.filter(function (c) { return c.role === "dimension"; });
    var measures = data.columns.filter(function (c) { return c.role === "measure"; });
    if (!measures.length || !data.rows.length) return null;
    var option;
    if (data.chart_type === "pie" || data.chart_type === "funnel") option = slices(data, dimensions, measures);
    else if (data.chart_type === "gauge") option = gauge(data, measures);
    else if (data.chart_type === "map" && data.map) option = tileMap(data, measures);
    else option = cartesian(data, dimensions, measures);
    option.animation = false;
    return option;
  }

  function draw(element) {
    var source = element.querySelector("script.report-data");
    var canvas = element.querySelector(".report-canvas");
    if (!source || !canvas || typeof echarts === "undefined") return;
    if (echarts.getInstanceByDom(canvas)) return;
    var data;
    try {
      data = JSON.parse(source.textContent);
    } catch (problem) {
      return;
    }
    var option = optionFor(data);
    if (!option) return;
    var locale = String(data.locale || "zh").indexOf("zh") === 0 ? "ZH" : "EN";
    var chart = echarts.init(canvas, null, { renderer: "canvas", locale: locale });
    chart.setOption(option);
    if (data.drill) {
      canvas.classList.add("report-drillable");
      chart.on("click", function (params) {
        var index = params.data && params.data.rowIndex;
        if (typeof index === "number" && data.drill[index]) window.location.assign(data.drill[index]);
      });
    }
    element.setAttribute("data-drawn", "true");
    drawn.push(chart);
  }

  function forget() {
    drawn = drawn.filter(function (chart) {
      var dom = chart.getDom();
      if (dom && document.body.contains(dom)) return true;
      chart.dispose();
      return false;
    });
  }

  function drawAll(root) {
    if (!root || !root.querySelectorAll) return;
    forget();
    var found = root.matches && root.matches("[data-report-chart]") ? [root] : [];
    var inner = root.querySelectorAll("[data-report-chart]");
    for (var i = 0; i < inner.length; i++) found.push(inner[i]);
    found.forEach(draw);
  }

  var resizing = null;
  window.addEventListener("resize", function () {
    if (resizing) window.clearTimeout(resizing);
    resizing = window.setTimeout(function () {
      drawn.forEach(function (chart) { chart.resize(); });
    }, 100);
  });

  // --- the designer: drag from the palette into "group by" / "measures", and reorder ------

  function designerOf(root) {
    if (!root || !root.querySelector) return null;
    return root.id === "report-designer" ? root : root.querySelector("#report-designer");
  }

  function dropped(form, event) {
    var item = event.item;
    if (event.from !== event.to && event.from.hasAttribute("data-palette")) {
      var kind = event.to.getAttribute("data-chosen");
      var value = item.getAttribute("data-key");
      if (item.getAttribute("data-bucket")) value += ":" + item.getAttribute("data-bucket");
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = kind;
      input.value = value;
      item.appendChild(input);
    } else if (event.oldIndex === event.newIndex) {
      return;
    }
    // After Sortable has finished with the drop: it leaves (empty) style attributes behind,
    // which htmx would copy while settling and the Content-Security-Policy refuses.
    window.setTimeout(function () {
      var styled = form.querySelectorAll("[style]");
      for (var i = 0; i < styled.length; i++) styled[i].removeAttribute("style");
      form.requestSubmit();
    }, 0);
  }

  function designer(root) {
    var form = designerOf(root);
    if (!form || typeof Sortable === "undefined") return;
    var common = { animation: 0, forceFallback: true, fallbackTolerance: 3, draggable: "li[data-key], li.report-chosen-item" };
    ["dimension", "measure"].forEach(function (kind) {
      var palette = form.querySelector('ul[data-palette="' + kind + '"]');
      var chosen = form.querySelector('ul[data-chosen="' + kind + '"]');
      if (palette && !Sortable.get(palette)) {
        Sortable.create(palette, Object.assign({}, common, {
          group: { name: kind, pull: "clone", put: false },
          sort: false
        }));
      }
      if (chosen && !Sortable.get(chosen)) {
        Sortable.create(chosen, Object.assign({}, common, {
          group: { name: kind, pull: false, put: true },
          handle: ".report-handle, .report-chosen-label",
          onEnd: function (event) { dropped(form, event); },
          onAdd: function (event) { dropped(form, event); }
        }));
      }
    });
  }

  function init(root) {
    drawAll(root);
    designer(root);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();
