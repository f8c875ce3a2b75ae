/**
 * The Java client library ({@code TesseraClient}) and the load-test harness.
 *
 * <p>Built in the cluster issue; this module holds only the contracts' dependency until then.
 */
package dev.tessera.client;
