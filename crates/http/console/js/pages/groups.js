// Groups: an address delivering to its members, who may send as it.
import { listPage } from './aliases.js';

export async function render(root) {
  await listPage(root, 'Groups', '/groups', 'group');
}
