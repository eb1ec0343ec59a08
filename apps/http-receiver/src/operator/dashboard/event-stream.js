/* global EventSource, fetch, location, setTimeout */
// Follows GET /api/v1/events (Server-Sent Events) with the session cookie. The browser's
// EventSource reconnects by itself after a dropped connection and sends Last-Event-ID, from which
// the receiver resends every event the page missed. When the browser gives up instead (an answer
// that is not 200, e.g. a 503 while Postgres is down), a new EventSource is opened after a pause,
// starting after the last event seen (`?lastEventId=`, as a new EventSource cannot send the
// header); a 401 means the session is over, and the page goes to the sign-in form.

const EVENTS_PATH = '/api/v1/events';
const RETRY_MS = 3000;

/**
 * Calls `onEvent(event)` for every status-changed event, `onOpen()` each time the stream is
 * (re)connected, and `onState('live' | 'reconnecting')` when the connection changes.
 */
export function followEvents({ onEvent, onOpen, onState }) {
  let lastEventId = null;

  const open = () => {
    const url = lastEventId === null ? EVENTS_PATH : `${EVENTS_PATH}?lastEventId=${encodeURIComponent(lastEventId)}`;
    const source = new EventSource(url, { withCredentials: true });
    source.addEventListener('open', () => {
      onState('live');
      onOpen();
    });
    source.addEventListener('status-changed', (message) => {
      lastEventId = message.lastEventId || lastEventId;
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      onEvent(event);
    });
    source.addEventListener('error', () => {
      onState('reconnecting');
      if (source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
      void signedIn().then((yes) => {
        if (!yes) location.assign(`/admin/session?next=${encodeURIComponent('/dashboard')}`);
        else setTimeout(open, RETRY_MS);
      });
    });
  };
  open();
}

/** Whether the session still works (the stream's own answer is not readable from an EventSource). */
async function signedIn() {
  try {
    const response = await fetch('/healthz', { credentials: 'same-origin', cache: 'no-store' });
    return response.status !== 401;
  } catch {
    return true; // the receiver is unreachable: keep trying
  }
}
