// Year dashboard charts (ECharts from /static/node_modules, never a CDN).
(function () {
  const data = window.DASHBOARD || {};
  const font = { fontFamily: 'WenQuanYi Micro Hei, Microsoft YaHei, sans-serif' };
  function chart(id, option) {
    const el = document.getElementById(id);
    if (!el) return;
    const c = echarts.init(el);
    c.setOption(Object.assign({ textStyle: font, tooltip: {}, grid: { left: 40, right: 20, bottom: 70 } }, option));
    el.dataset.rendered = 'yes';
  }
  function bars(obj) { return { x: Object.keys(obj), y: Object.values(obj) }; }
  const levels = data.cases.by_level || {};
  chart('chart-levels', { series: [{ type: 'pie', radius: '65%', data: Object.entries(levels).map(([name, value]) => ({ name, value })) }] });
  const counties = Object.keys(Object.assign({}, data.cases.cases_by_county, data.cases.overdue_by_county));
  chart('chart-counties', {
    legend: {}, xAxis: { type: 'category', data: counties, axisLabel: { rotate: 45 } }, yAxis: { type: 'value', minInterval: 1 },
    series: [
      { name: '案件', type: 'bar', data: counties.map((c) => data.cases.cases_by_county[c] || 0) },
      { name: '逾期任务', type: 'bar', itemStyle: { color: '#c62828' }, data: counties.map((c) => data.cases.overdue_by_county[c] || 0) },
    ],
  });
  const annual = data.annual || {};
  if (annual.letters) {
    const names = Object.keys(annual.letters);
    chart('chart-letters', {
      legend: {}, xAxis: { type: 'category', data: names, axisLabel: { rotate: 45 } }, yAxis: { type: 'value', minInterval: 1 },
      series: ['signed', 'late', 'pending'].map((k) => ({ name: { signed: '已签订', late: '逾期签订', pending: '未签订' }[k], type: 'bar', stack: 'l', data: names.map((n) => (annual.letters[n] || {})[k] || 0) })),
    });
  }
  if (annual.grades) {
    chart('chart-grades', { series: [{ type: 'pie', radius: '65%', data: Object.entries(annual.grades).map(([name, value]) => ({ name, value })) }] });
  }
  if (annual.findings) {
    const b = bars(annual.findings);
    chart('chart-findings', { xAxis: { type: 'category', data: b.x, axisLabel: { rotate: 45 } }, yAxis: { type: 'value', minInterval: 1 }, series: [{ type: 'bar', data: b.y }] });
  }
})();
