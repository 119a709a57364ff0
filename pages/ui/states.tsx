import type { ReactNode } from 'react';

/** Something is on its way; announced politely. */
export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="hc-state" role="status" aria-live="polite">
      <div className="hc-spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

/** Nothing to show yet, and what to do about it. */
export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="hc-state">
      <p>
        <strong>{title}</strong>
      </p>
      {children}
    </div>
  );
}

/** A message in place: errors are announced at once (role=alert), the others politely. */
export function Alert({ tone = 'error', title, children }: { tone?: 'error' | 'info' | 'warn'; title?: string; children?: ReactNode }) {
  return (
    <div className={`hc-alert hc-alert-${tone}`} role={tone === 'error' ? 'alert' : 'status'}>
      {title && (
        <p>
          <strong>{title}</strong>
        </p>
      )}
      {children}
    </div>
  );
}

/** An Alert of one paragraph, shown only when there is something to say (a form's problem, a notice). */
export function Notice({ text, tone, title }: { text: string | null | undefined; tone?: 'error' | 'info' | 'warn'; title?: string }) {
  if (!text) return null;
  return (
    <Alert tone={tone} title={title}>
      <p>{text}</p>
    </Alert>
  );
}

/**
 * A Notice in a place kept for it (one line of alert, empty until there is something to say): what
 * is below it does not move when it appears, nor the page's height for a one-line notice.
 */
export function NoticeLine(props: { text: string | null | undefined; tone?: 'error' | 'info' | 'warn'; title?: string }) {
  return (
    <div className="hc-notice-line">
      <Notice {...props} />
    </div>
  );
}

/** A whole screen that failed, with a way on. */
export function ErrorState({ title = 'Something went wrong', message, action }: { title?: string; message: string; action?: ReactNode }) {
  return (
    <div className="hc-card hc-narrow hc-stack">
      <Alert title={title}>
        <p>{message}</p>
      </Alert>
      {action}
    </div>
  );
}
