// Placeholder public page until the Client journey issue brings the React portals: it renders
// the plans from the one tier module the Worker enforces, so the two can never disagree.
import { MEMBERSHIP_TIERS, TIERS } from '../../workers/src/domain/tiers';

const list = document.querySelector<HTMLUListElement>('#tiers');
for (const tier of MEMBERSHIP_TIERS) {
  const info = TIERS[tier];
  const item = document.createElement('li');
  const name = document.createElement('h3');
  name.textContent = info.name;
  const summary = document.createElement('p');
  summary.textContent = info.summary;
  const features = document.createElement('ul');
  for (const f of info.features) {
    const li = document.createElement('li');
    li.textContent = f;
    features.append(li);
  }
  item.append(name, summary, features);
  list?.append(item);
}
