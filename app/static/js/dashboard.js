// Year dashboard charts (ECharts from /static/node_modules, never a CDN). The page sends each chart's names
// (in the reader's language), values, colours and, for every bar and slice, the list it counts: a click
// opens it. SVG, no animation: a chart is complete when drawn (screenshots, tests), its labels are text in
// the page, and `data-rendered` is set once ECharts reports it finished ("empty" when there is no data).
(function () {
  // The data block is JSON, never run (the Content-Security-Policy allows no inline script).
  const block = document.getElementById('dashboard-data');
  const data = block ? JSON.parse(block.textContent) : {};
  const font = { fontFamily: 'WenQuanYi Micro Hei, Microsoft YaHei, sans-serif' };
  const BAR_HEIGHT = 30; // px per category of a horizontal bar chart, so every county has its label

  function empty(el) {
    const p = document.createElement('p');
    p.className = 'chart-empty';
    p.textContent = data.empty || '暂无数据';
    el.replaceChildren(p);
    el.classList.add('is-empty');
    el.dataset.rendered = 'empty';
  }

  function draw(el, option, urlOf) {
    const chart = echarts.init(el, null, { renderer: 'svg' });
    chart.on('finished', function () { el.dataset.rendered = 'yes'; });
    chart.on('click', function (params) {
      const url = urlOf(params);
      if (url) window.location.assign(url);
    });
    chart.setOption(Object.assign({ animation: false, textStyle: font, tooltip: {} }, option));
    window.addEventListener('resize', function () { chart.resize(); });
    return chart;
  }

  function pie(el, spec) {
    const items = (spec.items || []).filter((i) => i.value > 0);
    if (!items.length) return empty(el);
    draw(el, {
      legend: { bottom: 0, type: 'scroll' },
      series: [{
        type: 'pie',
        radius: ['0%', '62%'],
        center: ['50%', '46%'],
        // On a narrow card (a phone) the counts sit inside the slices; the legend names them.
        label: el.clientWidth < 480 ? { position: 'inside', formatter: '{c}', color: '#fff' } : { formatter: '{b}: {c}' },
        data: items.map((i) => ({ name: i.name, value: i.value, itemStyle: i.color ? { color: i.color } : undefined })),
      }],
    }, (p) => (items[p.dataIndex] || {}).url);
  }

  function bars(el, spec) {
    const series = spec.series || [];
    const categories = spec.categories || [];
    const total = series.reduce((sum, s) => sum + s.data.reduce((a, b) => a + b, 0), 0);
    if (!categories.length || !total) return empty(el);
    const horizontal = !!spec.horizontal;
    if (horizontal) el.style.height = Math.max(240, 90 + categories.length * BAR_HEIGHT) + 'px';
    const category = {
      type: 'category',
      data: categories,
      inverse: horizontal, // first county at the top
      axisLabel: { interval: 0, rotate: horizontal || categories.length < 5 ? 0 : 30, hideOverlap: false },
      axisTick: { alignWithLabel: true },
    };
    const value = { type: 'value', minInterval: 1 };
    draw(el, {
      legend: series.length > 1 ? { top: 0 } : undefined,
      grid: { left: 12, right: 24, top: series.length > 1 ? 32 : 12, bottom: 12, containLabel: true },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? category : value,
      series: series.map((s) => ({
        name: s.name,
        type: 'bar',
        stack: spec.stack ? 'all' : undefined,
        barMaxWidth: 22,
        itemStyle: s.color ? { color: s.color } : undefined,
        data: s.data,
      })),
    }, (p) => ((series[p.seriesIndex] || {}).urls || [])[p.dataIndex]);
  }

  Object.entries(data.charts || {}).forEach(function ([name, spec]) {
    const el = document.getElementById('chart-' + name);
    if (!el) return;
    (spec.type === 'pie' ? pie : bars)(el, spec);
  });
})();
