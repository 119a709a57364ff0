import type { InputHTMLAttributes, ReactNode, SelectHTMLAttributes, TextareaHTMLAttributes } from 'react';
import { useId } from 'react';

/** What a field says around its control. */
interface FieldText {
  label: string;
  hint?: string;
  error?: string;
}

/** What ties a control to its label, hint and error for screen readers. */
interface ControlLinks {
  id: string;
  'aria-invalid': true | undefined;
  'aria-describedby': string | undefined;
}

/** The label, the optional hint and the optional error around one control (`control` gets the ids). */
function Field({ label, hint, error, control }: FieldText & { control: (links: ControlLinks) => ReactNode }) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(' ') || undefined;
  return (
    <div className="hc-field">
      <label htmlFor={id}>{label}</label>
      {control({ id, 'aria-invalid': error ? true : undefined, 'aria-describedby': describedBy })}
      {hint && (
        <span id={hintId} className="hc-field-hint">
          {hint}
        </span>
      )}
      {error && (
        <span id={errorId} className="hc-field-error">
          {error}
        </span>
      )}
    </div>
  );
}

/** A labelled input with an optional hint and error, both tied to it for screen readers. */
export function TextField({ label, hint, error, ...input }: InputHTMLAttributes<HTMLInputElement> & FieldText) {
  return <Field label={label} hint={hint} error={error} control={(links) => <input {...links} {...input} />} />;
}

/** A labelled multi-line input with an optional hint and error, tied to it like TextField's. */
export function TextArea({ label, hint, error, ...input }: TextareaHTMLAttributes<HTMLTextAreaElement> & FieldText) {
  return <Field label={label} hint={hint} error={error} control={(links) => <textarea rows={3} {...links} {...input} />} />;
}

/** A labelled drop-down of `options` (value and label), with an optional hint and error tied to it like TextField's. */
export function SelectField({
  label,
  hint,
  error,
  options,
  ...select
}: SelectHTMLAttributes<HTMLSelectElement> & FieldText & { options: readonly { value: string; label: string }[] }) {
  return (
    <Field
      label={label}
      hint={hint}
      error={error}
      control={(links) => (
        <select {...links} {...select}>
          {options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      )}
    />
  );
}
