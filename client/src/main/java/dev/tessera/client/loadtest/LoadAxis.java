package dev.tessera.client.loadtest;

import java.util.List;

/**
 * What a report's levels vary, so tables and charts can put it on their first column or x axis: the offered rate
 * (open loop), the concurrency (closed loop), or, for a run that mixes the two, the level's position.
 */
enum LoadAxis {
    OFFERED_RATE("Offered req/s", "offered rate (requests/s)"),
    CONCURRENCY("Concurrency", "concurrency (requests in flight)"),
    MIXED("Load", "load level (open and closed loop mixed)");

    /** A table's first column header. */
    final String column;
    /** A chart's x axis label. */
    final String axisLabel;

    LoadAxis(String column, String axisLabel) {
        this.column = column;
        this.axisLabel = axisLabel;
    }

    static LoadAxis of(List<LevelResult> levels) {
        boolean open = levels.stream().anyMatch(l -> l.level().openLoop());
        boolean closed = levels.stream().anyMatch(l -> !l.level().openLoop());
        return open && closed ? MIXED : closed ? CONCURRENCY : OFFERED_RATE;
    }

    /** The x value of the level at {@code index}: its rate, its concurrency, or its 1-based position. */
    double x(LevelResult level, int index) {
        return switch (this) {
            case OFFERED_RATE -> level.level().offeredRate();
            case CONCURRENCY -> level.level().concurrency();
            case MIXED -> index + 1;
        };
    }

    /** A table's first cell: the bare number, or the level's label when the run mixes kinds. */
    String cell(LevelResult level) {
        return this == MIXED ? Figures.level(level.level()) : Figures.load(level.level());
    }
}
