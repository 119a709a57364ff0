import { useId } from 'react';

export interface Choice<T extends string | number> {
  value: T;
  label: string;
}

/**
 * A set of radio buttons in a fieldset with a legend: arrow keys move between choices, the browser
 * keeps one selected. Shown as pills; `error` is tied to the group for screen readers.
 */
export function ChoiceGroup<T extends string | number>({
  legend,
  name,
  choices,
  value,
  onChange,
  hint,
  error,
  required,
}: {
  legend: string;
  name: string;
  choices: readonly Choice<T>[];
  value: T | null;
  onChange: (value: T) => void;
  hint?: string;
  error?: string;
  required?: boolean;
}) {
  const id = useId();
  const describedBy = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <fieldset className="hc-choices" aria-describedby={describedBy} aria-invalid={error ? true : undefined}>
      <legend>{legend}</legend>
      {hint && (
        <span id={`${id}-hint`} className="hc-field-hint">
          {hint}
        </span>
      )}
      <div className="hc-choices-row">
        {choices.map((c) => (
          <label key={String(c.value)} className="hc-choice">
            <input type="radio" name={name} value={String(c.value)} checked={value === c.value} onChange={() => onChange(c.value)} required={required} />
            <span>{c.label}</span>
          </label>
        ))}
      </div>
      {error && (
        <span id={`${id}-error`} className="hc-field-error">
          {error}
        </span>
      )}
    </fieldset>
  );
}
