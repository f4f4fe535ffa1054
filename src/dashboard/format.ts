import { html, type SafeHtml } from './html.js';

/** How times, durations and numbers read on the dashboard. */

export function formatNumber(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  const rest = Math.round(seconds % 60);
  if (minutes < 60) return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function formatRate(rowsPerSecond: number | null): string {
  if (rowsPerSecond === null || !Number.isFinite(rowsPerSecond)) return '—';
  return rowsPerSecond >= 100 ? `${formatNumber(rowsPerSecond)} rows/s` : `${rowsPerSecond.toFixed(1)} rows/s`;
}

/** "3 min ago" / "in 5 s", relative to when the page data was read. */
export function relativeTime(iso: string, now: Date): string {
  const seconds = Math.round((new Date(iso).getTime() - now.getTime()) / 1000);
  const span = formatSpan(Math.abs(seconds));
  if (Math.abs(seconds) < 1) return 'now';
  return seconds < 0 ? `${span} ago` : `in ${span}`;
}

function formatSpan(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86_400)} d`;
}

/** A timestamp shown relative, with the exact UTC time on hover. */
export function timeCell(iso: string | null, now: Date, empty = '—'): SafeHtml {
  if (!iso) return html`<span class="muted">${empty}</span>`;
  const exact = `${iso.slice(0, 19).replace('T', ' ')} UTC`;
  return html`<time datetime="${iso}" title="${exact}">${relativeTime(iso, now)}</time>`;
}
