"""Township whistle calls (吹哨报到 / 乡呼县应): rules, models, services, queries."""
