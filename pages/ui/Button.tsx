import type { AnchorHTMLAttributes, ButtonHTMLAttributes } from 'react';

type Variant = 'primary' | 'secondary';

const classes = (variant: Variant, block: boolean | undefined, extra?: string) =>
  ['hc-button', `hc-button-${variant}`, block ? 'hc-button-block' : '', extra ?? ''].filter(Boolean).join(' ');

/** A button; `busy` disables it and says so to assistive technology. */
export function Button({
  variant = 'primary',
  block,
  busy,
  className,
  type = 'button',
  disabled,
  ...rest
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant; block?: boolean; busy?: boolean }) {
  return <button type={type} className={classes(variant, block, className)} disabled={disabled || busy} aria-busy={busy || undefined} {...rest} />;
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
