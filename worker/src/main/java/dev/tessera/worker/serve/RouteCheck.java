package dev.tessera.worker.serve;

import dev.tessera.proto.v1.PipelineRoute;
import dev.tessera.proto.v1.StageEndpoint;

/**
 * Checks a stream's route against this stage (pipeline.proto, PipelineRoute): stages[0] is this worker (id, layer
 * range, model fingerprint), and the ranges are contiguous up to the model's last layer. A mismatch is
 * FAILED_PRECONDITION: the coordinator's view of the cluster is not this stage's.
 */
final class RouteCheck {

    private RouteCheck() {}

    static void check(PipelineRoute route, StageIdentity id) throws StreamFault {
        if (route.getStagesCount() == 0) throw StreamFault.invalid("the route names no stages; it must start with this one");
        StageEndpoint self = route.getStages(0);
        if (!self.getWorkerId().equals(id.workerId()))
            throw StreamFault.precondition("the route starts at worker '" + self.getWorkerId() + "', but this is worker '"
                    + id.workerId() + "'; refresh the membership and route again");
        if (self.getFirstLayer() != id.firstLayer() || self.getLastLayer() != id.lastLayer())
            throw StreamFault.precondition("the route gives worker " + id.workerId() + " layers [" + self.getFirstLayer()
                    + "," + self.getLastLayer() + "), but it holds " + id.layers());
        if (!route.getModelFingerprint().equals(id.fingerprint()))
            throw StreamFault.precondition("the route is for model fingerprint '" + route.getModelFingerprint()
                    + "', but worker " + id.workerId() + " loaded '" + id.fingerprint() + "' (" + id.model() + ")");
        for (int i = 1; i < route.getStagesCount(); i++) {
            StageEndpoint prev = route.getStages(i - 1), s = route.getStages(i);
            if (s.getWorkerId().isEmpty() || s.getAddress().isEmpty())
                throw StreamFault.precondition("route stage " + i + " has no worker id or address");
            if (s.getFirstLayer() != prev.getLastLayer() || s.getLastLayer() <= s.getFirstLayer())
                throw StreamFault.precondition("route stage " + i + " (" + s.getWorkerId() + ") holds [" + s.getFirstLayer()
                        + "," + s.getLastLayer() + "), which does not continue [" + prev.getFirstLayer() + ","
                        + prev.getLastLayer() + ") of " + prev.getWorkerId());
        }
        StageEndpoint last = route.getStages(route.getStagesCount() - 1);
        if (Integer.toUnsignedLong(last.getLastLayer()) != id.numLayers())
            throw StreamFault.precondition("the route ends at layer " + Integer.toUnsignedLong(last.getLastLayer())
                    + ", but the model has " + id.numLayers() + " layers; a route must reach the last stage");
    }
}
