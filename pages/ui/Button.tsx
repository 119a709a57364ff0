import type { AnchorHTMLAttributes, ButtonHTMLAttributes, ReactNode } from 'react';

type Variant = 'primary' | 'secondary';

const classes = (variant: Variant, block: boolean | undefined, extra?: string) =>
  ['hc-button', `hc-button-${variant}`, block ? 'hc-button-block' : '', extra ?? ''].filter(Boolean).join(' ');

/** A button; `busy` disables it, says so to assistive technology and shows `busyLabel` (if given) in place of its text. */
export function Button({
  variant = 'primary',
  block,
  busy,
  busyLabel,
  className,
  type = 'button',
  disabled,
  children,
  ...rest
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant; block?: boolean; busy?: boolean; busyLabel?: ReactNode }) {
  return (
    <button type={type} className={classes(variant, block, className)} disabled={disabled || busy} aria-busy={busy || undefined} {...rest}>
      {busy && busyLabel !== undefined ? busyLabel : children}
    </button>
  );
}

/** A link that looks like a button (for navigation to another site or page). */
export function ButtonLink({
  variant = 'primary',
  block,
  className,
  ...rest
}: AnchorHTMLAttributes<HTMLAnchorElement> & { variant?: Variant; block?: boolean }) {
  return <a className={classes(variant, block, className)} {...rest} />;
}
