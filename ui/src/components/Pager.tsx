import { formatCount } from '../format';
import type { Location } from '../router';
import { withQuery } from '../router';

/**
 * "Previous" and "Next" links that change the `page` query parameter, with "Page X of Y". Links, not
 * buttons, so that a page can be opened in a new tab and the back button returns to the previous page.
 */
export function Pager({
  location,
  page,
  pageSize,
  total,
  noun,
}: {
  location: Location;
  page: number;
  pageSize: number;
  total: number;
  /** The singular and plural of what is counted, such as `['tag', 'tags']`. */
  noun: [string, string];
}) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const pageHref = (target: number): string =>
    withQuery(location, { page: target === 1 ? undefined : String(target) });

  return (
    <nav class="pager" aria-label="Pages">
      <span class="pager-total">
        {formatCount(total)} {total === 1 ? noun[0] : noun[1]}
      </span>
      {pages > 1 && (
        <span class="pager-links">
          {page > 1 ? (
            <a href={pageHref(page - 1)} rel="prev">
              Previous
            </a>
          ) : (
            <span class="pager-disabled" aria-disabled="true">
              Previous
            </span>
          )}
          <span class="pager-position">
            Page {formatCount(page)} of {formatCount(pages)}
          </span>
          {page < pages ? (
            <a href={pageHref(page + 1)} rel="next">
              Next
            </a>
          ) : (
            <span class="pager-disabled" aria-disabled="true">
              Next
            </span>
          )}
        </span>
      )}
    </nav>
  );
}

/** Reads a 1-based page number from the query; anything else is page 1. */
export function pageFromQuery(location: Location): number {
  const page = Number(location.search.get('page'));

  return Number.isInteger(page) && page > 1 ? page : 1;
}
