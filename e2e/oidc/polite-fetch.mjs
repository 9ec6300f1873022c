// The tests are clients that behave: NGINX limits /auth/ per client address (30 at once, then
// BANK_ANON_RATE a minute) and the suites sign in many times in a row from one address, so a
// 429 is waited out (a second, up to ten times) as a well-behaved client would, instead of
// failing the test. Every other answer is returned as it is.
const plainFetch = globalThis.fetch;

globalThis.fetch = async function politeFetch(input, init) {
  for (let attempt = 0; ; attempt += 1) {
    const response = await plainFetch(input, init);
    if (response.status !== 429 || attempt >= 10) return response;
    await response.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
};
