import { Link } from 'react-router';
import { EmptyState } from '../ui';

export function NotFoundPage() {
  return (
    <EmptyState title="This page does not exist">
      <Link to="/dashboard">Back to your dashboard</Link>
    </EmptyState>
  );
}
