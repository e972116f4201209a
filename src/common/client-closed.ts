/**
 * Status that the access log and the request metrics give a request whose client closed the
 * connection before the response ended, whatever status the response had started with. nginx logs
 * such a request with the same code.
 */
export const clientClosedStatus = 499;
