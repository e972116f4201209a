import './styles.css';

import { render } from 'preact';

import { App } from './app';
import { interceptLinkClicks } from './router';
import { applyTheme } from './theme';

applyTheme();
interceptLinkClicks();

const root = document.getElementById('app');

if (root) {
  render(<App />, root);
}
