import './styles.css';

export { Button, ButtonLink } from './Button';
export type { Choice } from './ChoiceGroup';
export { ChoiceGroup } from './ChoiceGroup';
export { ConfirmDialog } from './ConfirmDialog';
export { formatClock, formatDate, formatDuration, formatWait } from './format';
export type { NavItem } from './Layout';
export { Layout } from './Layout';
export { Switch } from './Switch';
export { Alert, EmptyState, ErrorState, Loading, Notice, NoticeLine } from './states';
export { SelectField, TextArea, TextField } from './TextField';
