// Log in with a user's password; the server sets the session cookie and
// returns the CSRF token.
import { api } from '../api.js';
import { el, clear, form } from '../ui.js';

export async function render(root, { loggedIn }) {
  clear(root);
  const f = form(
    [
      { name: 'user', label: 'Address', placeholder: 'admin@example.org' },
      { name: 'password', label: 'Password', type: 'password' },
    ],
    'Log in',
    async (v) => {
      let who;
      try {
        who = await api('POST', '/session', { user: v.user, password: v.password });
      } catch (e) {
        if (e.status === 401) throw new Error('wrong address or password');
        throw e;
      }
      await loggedIn(who);
    },
    'stack',
  );
  f.id = 'login-form';
  root.append(el('div', { class: 'login' }, el('h1', {}, 'Postern administration'), f));
}
