/* global document, window, setTimeout, URL */
// The dashboard's only script: times in the viewer's time zone ("3 min ago" on hover), a
// confirmation before Remove, and a reload every few seconds of a page whose jobs are not all
// finished (`<main data-live>`), paused while the search box has the focus.
// Every page works without it.
;(function () {
  'use strict'
  var units = [
    ['day', 86400000],
    ['hour', 3600000],
    ['minute', 60000],
    ['second', 1000],
  ]
  var relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })
  function ago(ms) {
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(ms) >= units[i][1] || i === units.length - 1) {
        return relative.format(-Math.round(ms / units[i][1]), units[i][0])
      }
    }
  }
  document.querySelectorAll('time[datetime]').forEach(function (el) {
    var at = new Date(el.getAttribute('datetime'))
    if (isNaN(at.getTime())) return
    el.title = ago(Date.now() - at.getTime()) + ' · ' + el.textContent
    el.textContent = at.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' })
  })
  document.querySelectorAll('form[data-confirm]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      if (!window.confirm(form.getAttribute('data-confirm'))) event.preventDefault()
    })
  })
  if (document.querySelector('main[data-live]')) {
    var reload = function () {
      if (document.activeElement && document.activeElement.matches('input, select')) {
        setTimeout(reload, 3000)
      } else {
        // Without the one-off notice ("Retried…"), which would be stale by then.
        var url = new URL(window.location.href)
        url.searchParams.delete('done')
        url.searchParams.delete('removed')
        window.location.replace(url.href)
      }
    }
    setTimeout(reload, 3000)
  }
})()
