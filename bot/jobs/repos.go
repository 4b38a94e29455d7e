package jobs

import (
	"context"
	"fmt"
)

// DeliveryRepos lists, sorted, every repo the bot has recorded a delivery
// for: what recovery scans besides the configured and watched repos.
func (q *Queue) DeliveryRepos(ctx context.Context) ([]string, error) {
	rows, err := q.db.query(ctx, `SELECT DISTINCT repo FROM hubbot_deliveries WHERE repo <> '' ORDER BY repo`)
	if err != nil {
		return nil, fmt.Errorf("list the repos of past deliveries: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("list the repos of past deliveries: %w", err)
		}
		out = append(out, name)
	}
	return out, rows.Err()
}
